# The pid files of the processes `make up` starts (var/run/<name>.pid), shared by up.sh and down.sh.
# A pid file outlives its process (a kill -9, a reboot), and the pid may since belong to another program: a process
# counts as ours only while its command line is the one up.sh started under that name.

# alive PID: whether PID is a process that runs: signal 0 reaches it and it is no zombie (state Z or X in
# /proc/PID/stat: killed, its parent has not reaped it yet, though its pid still takes signal 0)
alive() {
  local stat state
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0 # no /proc (not Linux): signal 0 is all there is to go on
  stat=${stat##*)}
  read -r state _ <<<"$stat"
  [[ "$state" != Z && "$state" != X ]]
}

# ours NAME PID: whether PID is alive and runs what up.sh starts as NAME (a service, or the demo mail sink)
ours() {
  local name=$1 pid=$2 cmdline
  alive "$pid" || return 1
  # no /proc (not Linux): the pid's liveness is all there is to go on
  [ -r "/proc/$pid/cmdline" ] || return 0
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case "$name" in
    mailsink) [[ "$cmdline" == *" -m deploy.mailsink "* ]] ;;
    *) [[ "$cmdline" == *" -m services.$name serve"* ]] ;;
  esac
}

# running NAME: whether NAME's pid file names a live process of ours
running() {
  [ -f "var/run/$1.pid" ] && ours "$1" "$(cat "var/run/$1.pid")"
}
