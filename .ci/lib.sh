# Shared helpers for the .ci scripts. Sourced, never run.
ci_log() { printf '[ci] %s\n' "$*" >&2; }
ci_die() { printf '[ci] error: %s\n' "$*" >&2; exit 1; }

# Run a command with a bounded number of attempts, waiting between them.
# usage: ci_retry ATTEMPTS DELAY_SECONDS CMD...
ci_retry() {
  local attempts=$1 delay=$2 i
  shift 2
  for ((i = 1; i <= attempts; i++)); do
    "$@" && return 0
    ((i < attempts)) && sleep "$delay"
  done
  return 1
}

# apt-get for the setup's steps, which run side by side: one at a time (dpkg's own
# lock fails at once instead of waiting), non-interactive.
ci_apt() { flock /var/lock/contoso-ci-apt.lock env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
