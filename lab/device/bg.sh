#!/usr/bin/env bash
# Jobs that outlast one device call (600 s) on a warm device machine.
#
#   bash lab/device/bg.sh start NAME CMD [ARGS...]   snapshot the repo, start CMD in it detached, return
#   bash lab/device/bg.sh wait NAME [SECONDS]         block until the job ends or SECONDS (570) pass, then
#                                                     pack its folder into $OUT/NAME.tgz and print progress
#   bash lab/device/bg.sh stop NAME                   end the job and everything it started
#
# Why: the device tool kills what a command leaves running, except processes in a new session
# (setsid); the machine stays warm 30 s after a call, so a chain of `wait` calls made back to back
# keeps a long job alive across calls. The job runs in a snapshot of the working tree
# ($BG/NAME/repo; .gpu_data, .whl and runs/ are linked, not copied) because each device call
# re-sends the tracked files, and a script rewritten under a running bash is read half old, half new.
# The job gets R=$BG/NAME/out for its results (keep them small: they come back in every `wait`);
# its exit status lands in $BG/NAME/rc, its output in $BG/NAME/job.log.
set -u
cd "$(dirname "$0")/../.."
BG=${BG:-/tmp/bg}
CMD=${1:?start, wait or stop}; NAME=${2:?job name}; D=$BG/$NAME
case $CMD in
start)
  shift 2
  [ $# -gt 0 ] || { echo "bg.sh start NAME CMD...: no command" >&2; exit 2; }
  if [ -f "$D/pid" ] && [ ! -f "$D/rc" ] && kill -0 "$(cat "$D/pid")" 2>/dev/null; then
    echo "job $NAME is already running (pid $(cat "$D/pid"))" >&2; exit 2
  fi
  rm -rf "$D"; mkdir -p "$D/out" "$D/repo" runs
  tar cf - --exclude=./.gpu_data --exclude=./.whl --exclude=./runs --exclude=./.venv --exclude=./.git --exclude=./.gpu_data_aside --exclude=./.pytest_cache . \
    | tar xf - -C "$D/repo"
  for p in .gpu_data .whl runs; do [ -e "$p" ] && ln -s "$PWD/$p" "$D/repo/$p"; done
  cd "$D/repo"
  R="$D/out" setsid nohup bash -c '"$@"; echo $? > "$0/rc"' "$D" "$@" > "$D/job.log" 2>&1 < /dev/null &
  echo $! > "$D/pid"
  echo "started $NAME (pid $!) in $D/repo: $*"
  ;;
wait)
  S=${3:-570}; t0=$(date +%s)
  [ -d "$D" ] || { echo "no job $NAME under $BG" >&2; exit 2; }
  while [ ! -f "$D/rc" ] && [ $(( $(date +%s) - t0 )) -lt "$S" ]; do
    kill -0 "$(cat "$D/pid")" 2>/dev/null || break   # died without writing rc (killed)
    sleep 5
  done
  if [ -n "${OUT:-}" ]; then
    tar czf "$OUT/$NAME.tgz.part" -C "$D" out job.log 2>/dev/null; mv -f "$OUT/$NAME.tgz.part" "$OUT/$NAME.tgz"
  fi
  echo "--- job.log (tail)"; tail -n 30 "$D/job.log"
  if [ -f "$D/rc" ]; then echo "=== $NAME finished: exit $(cat "$D/rc")"
  elif kill -0 "$(cat "$D/pid")" 2>/dev/null; then echo "=== $NAME still running after $(( $(date +%s) - t0 )) s of waiting"
  else echo "=== $NAME died without an exit status (killed?)"; fi
  ;;
stop)
  [ -f "$D/pid" ] || { echo "no job $NAME under $BG" >&2; exit 2; }
  kill -TERM -- "-$(cat "$D/pid")" 2>/dev/null && echo "stopped $NAME (process group $(cat "$D/pid"))" \
    || echo "job $NAME was not running"
  ;;
*) echo "bg.sh: unknown command $CMD (start, wait, stop)" >&2; exit 2 ;;
esac
