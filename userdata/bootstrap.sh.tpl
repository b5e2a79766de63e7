#!/bin/bash
# k3s-burst node bootstrap: joins this EC2 instance to the K3s cluster over Tailscale.
# Rendered per instance by the launch Lambda from userdata/bootstrap.sh.tpl; docs/nodes.md.
# Secrets: a one-off Tailscale auth key (expires in minutes) and the K3s join token: a
# bootstrap token (expires within the hour) or the agent token. Never add `set -x` here.
set -Eeuo pipefail
umask 022

# --- Rendered values (shell-quoted by lib/userdata/render.ts) ---
CLUSTER={{cluster}}
K3S_SERVER_URL={{k3sServerUrl}}
K3S_VERSION={{k3sVersion}}
JOIN_CREDENTIAL={{joinCredential}}
NODE_NAME_PREFIX={{nodeNamePrefix}}
TAILSCALE_TAGS={{tailscaleTags}}
LABEL_INSTANCE_TYPE={{labelInstanceType}}
LABEL_ZONE={{labelZone}}
LABEL_REGION={{labelRegion}}
NODE_LABELS=({{nodeLabels}})
NODE_TAINTS=({{nodeTaints}})
# Secrets are literal data: `$`, `\` or quotes in them are meant as they are.
# shellcheck disable=SC2016,SC1003
TAILSCALE_AUTH_KEY={{tailscaleAuthKey}}
# shellcheck disable=SC2016,SC1003
K3S_AGENT_TOKEN={{agentToken}}

# --- Paths and timeouts. K3S_BURST_* overrides exist only for the sandbox tests. ---
ROOT="${K3S_BURST_ROOT:-}"
TS_IP_TIMEOUT_SECONDS="${K3S_BURST_TAILSCALE_IP_TIMEOUT_SECONDS:-180}"
TS_UP_TIMEOUT_SECONDS="${K3S_BURST_TAILSCALE_UP_TIMEOUT_SECONDS:-120}"
POLL_SECONDS="${K3S_BURST_POLL_SECONDS:-2}"
RETRY_DELAY_SECONDS="${K3S_BURST_RETRY_DELAY_SECONDS:-5}"
IMDS=http://169.254.169.254
LOG_FILE="${ROOT}/var/log/k3s-burst-bootstrap.log"
STATE_DIR="${ROOT}/var/lib/k3s-burst"
RUN_DIR="${ROOT}/run/k3s-burst"
TS_KEY_FILE="${RUN_DIR}/tailscale-auth-key"
TOKEN_FILE="${ROOT}/etc/k3s-burst/agent-token"
UNIT_DIR="${ROOT}/etc/systemd/system"
LOGOUT_UNIT=k3s-burst-tailscale-logout.service
INSTALLER=""

mkdir -p "${ROOT}/var/log"
[ -e "$LOG_FILE" ] || install -m 0600 /dev/null "$LOG_FILE"
exec > >(tee -a "$LOG_FILE") 2>&1
TEE_PID=$!

# To stderr, so messages from inside $(...) reach the log instead of the captured value.
log() { printf '%s k3s-burst-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
on_exit() {
  local rc=$?
  rm -f "$TS_KEY_FILE" "$INSTALLER"
  if [ "$rc" -ne 0 ]; then log "bootstrap FAILED (exit ${rc}); log: /var/log/k3s-burst-bootstrap.log"; fi
  # Let tee drain so the log file is complete when this script exits.
  exec 1>&- 2>&-
  wait "$TEE_PID" 2>/dev/null || true
  exit "$rc"
}
trap on_exit EXIT
# Line number and status only: the failing command's text is never printed.
trap 'log "command failed at line ${LINENO} (exit $?)"' ERR

# Up to 3 attempts for network operations (package mirrors, GitHub, early-boot IMDS).
retry() {
  local attempt=1
  until "$@"; do
    if [ "$attempt" -ge 3 ]; then
      log "giving up on '$1' after ${attempt} attempts"
      return 1
    fi
    log "attempt ${attempt} of '$1' failed; retrying in ${RETRY_DELAY_SECONDS}s"
    sleep "$RETRY_DELAY_SECONDS"
    attempt=$((attempt + 1))
  done
}

# Writes a secret to a root-only file without it ever being a command argument.
write_secret() {
  install -m 0600 /dev/null "$1"
  printf '%s\n' "$2" >"$1"
}

log "starting (cluster ${CLUSTER}, K3s ${K3S_VERSION}, server ${K3S_SERVER_URL})"

# --- 1. Instance identity from IMDSv2 (session token; IMDSv1 is never used) ---
IMDS_TOKEN="$(curl -sS -f -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 600' \
  --connect-timeout 2 --max-time 5 --retry 3 --retry-connrefused "${IMDS}/latest/api/token")" ||
  die "IMDSv2 refused a session token (PUT ${IMDS}/latest/api/token): enable IMDSv2 on the launch template (HttpEndpoint=enabled, HttpTokens=required, HttpPutResponseHopLimit=1)"
[ -n "$IMDS_TOKEN" ] || die "IMDSv2 returned an empty session token"

imds() {
  local value
  value="$(curl -sS -f -H "X-aws-ec2-metadata-token: ${IMDS_TOKEN}" \
    --connect-timeout 2 --max-time 5 --retry 3 --retry-connrefused "${IMDS}/latest/meta-data/$1")" ||
    die "cannot read meta-data/$1 from IMDSv2"
  [[ "$value" =~ $2 ]] || die "IMDSv2 meta-data/$1 has an unexpected value '${value}'"
  printf '%s' "$value"
}
INSTANCE_ID="$(imds instance-id '^i-[0-9a-f]{8,17}$')"
AZ="$(imds placement/availability-zone '^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z0-9-]*$')"
REGION="$(imds placement/region '^[a-z]{2}(-gov)?-[a-z]+-[0-9]$')"
INSTANCE_TYPE="$(imds instance-type '^[a-z][a-z0-9-]*\.[a-z0-9]+$')"
NODE_NAME="${NODE_NAME_PREFIX}${INSTANCE_ID}"
log "instance ${INSTANCE_ID} (${INSTANCE_TYPE}) in ${AZ}; node name ${NODE_NAME}"

case "$(uname -m)" in
  x86_64 | amd64 | aarch64 | arm64) ;;
  *) die "unsupported CPU architecture $(uname -m): use arm64 (Graviton) or x86_64 instance types" ;;
esac

OS_ID=unknown OS_VERSION_ID="" OS_CODENAME=""
if [ -r "${ROOT}/etc/os-release" ]; then
  os_field() { sed -n "s/^$1=//p" "${ROOT}/etc/os-release" | tr -d "\"'" | head -n 1; }
  OS_ID="$(os_field ID)" OS_VERSION_ID="$(os_field VERSION_ID)" OS_CODENAME="$(os_field VERSION_CODENAME)"
fi
log "OS ${OS_ID} ${OS_VERSION_ID} ($(uname -m))"

# --- 2. Tailscale: install unless pre-baked, leave-on-shutdown unit, join, wait for an IPv4 ---
install_tailscale() {
  case "$OS_ID" in
    ubuntu)
      [ -n "$OS_CODENAME" ] || die "/etc/os-release has no VERSION_CODENAME: cannot pick the Tailscale apt repository"
      mkdir -p "${ROOT}/usr/share/keyrings" "${ROOT}/etc/apt/sources.list.d"
      retry curl -fsSL --max-time 60 -o "${ROOT}/usr/share/keyrings/tailscale-archive-keyring.gpg" \
        "https://pkgs.tailscale.com/stable/ubuntu/${OS_CODENAME}.noarmor.gpg"
      retry curl -fsSL --max-time 60 -o "${ROOT}/etc/apt/sources.list.d/tailscale.list" \
        "https://pkgs.tailscale.com/stable/ubuntu/${OS_CODENAME}.tailscale-keyring.list"
      chmod 0644 "${ROOT}/usr/share/keyrings/tailscale-archive-keyring.gpg" "${ROOT}/etc/apt/sources.list.d/tailscale.list"
      export DEBIAN_FRONTEND=noninteractive
      # cloud-init or unattended-upgrades may hold the dpkg lock at first boot: wait for it.
      retry apt-get -o DPkg::Lock::Timeout=300 update -qq
      retry apt-get -o DPkg::Lock::Timeout=300 install -y -qq tailscale
      ;;
    amzn)
      mkdir -p "${ROOT}/etc/yum.repos.d"
      retry curl -fsSL --max-time 60 -o "${ROOT}/etc/yum.repos.d/tailscale.repo" \
        "https://pkgs.tailscale.com/stable/amazon-linux/2023/tailscale.repo"
      chmod 0644 "${ROOT}/etc/yum.repos.d/tailscale.repo"
      retry dnf install -y -q tailscale
      ;;
    *) die "cannot install Tailscale on OS '${OS_ID}': use Ubuntu 24.04 or Amazon Linux 2023, or pre-bake tailscale into the AMI (docs/nodes.md)" ;;
  esac
  command -v tailscale >/dev/null || die "the tailscale package installed but the tailscale command is missing"
}

if command -v tailscale >/dev/null; then
  log "tailscale already installed (pre-baked AMI or an earlier run): skipping the package install"
else
  log "installing Tailscale from pkgs.tailscale.com"
  install_tailscale
fi
TAILSCALE_BIN="$(command -v tailscale)"
systemctl enable --now tailscaled

# Installed before `tailscale up` so the device leaves the tailnet at any later shutdown. Stop
# order is the reverse of start order: this stops after k3s-agent and before tailscaled and
# the network go down, so `tailscale logout` can still reach the coordination server.
mkdir -p "$UNIT_DIR"
# >>> warm-pool
# Stopped, not terminated: its (non-ephemeral) device must survive. The janitor deletes it later.
log "warm-pool member: no tailscale logout at shutdown"
# <<< warm-pool
# >>> ordinary
cat >"${UNIT_DIR}/${LOGOUT_UNIT}" <<EOF
[Unit]
Description=k3s-burst: leave the tailnet at shutdown (tailscale logout)
Wants=network-online.target
After=network-online.target tailscaled.service
Before=k3s-agent.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=${TAILSCALE_BIN} logout
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
EOF
chmod 0644 "${UNIT_DIR}/${LOGOUT_UNIT}"
systemctl daemon-reload
systemctl enable --now "$LOGOUT_UNIT"
# <<< ordinary

tailscale_ipv4() { timeout 10 tailscale ip -4 2>/dev/null | head -n 1 || true; }

if [ -n "$(tailscale_ipv4)" ]; then
  log "already on the tailnet: skipping tailscale up (the one-off key is spent)"
else
  mkdir -p "$RUN_DIR"
  chmod 0700 "$RUN_DIR"
  write_secret "$TS_KEY_FILE" "$TAILSCALE_AUTH_KEY"
  log "joining the tailnet as ${NODE_NAME} with tags ${TAILSCALE_TAGS}"
  tailscale up --auth-key="file:${TS_KEY_FILE}" --hostname="${NODE_NAME}" \
    --advertise-tags="${TAILSCALE_TAGS}" --timeout="${TS_UP_TIMEOUT_SECONDS}s" ||
    die "tailscale up failed: the auth key must be unexpired, unused, pre-authorized and allowed to request ${TAILSCALE_TAGS} (tagOwners in the tailnet policy)"
  rm -f "$TS_KEY_FILE"
fi
unset TAILSCALE_AUTH_KEY

deadline=$((SECONDS + TS_IP_TIMEOUT_SECONDS))
TS_IP="$(tailscale_ipv4)"
until [[ "$TS_IP" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; do
  [ "$SECONDS" -lt "$deadline" ] ||
    die "Tailscale has no IPv4 address after ${TS_IP_TIMEOUT_SECONDS}s: see 'tailscale status' and 'journalctl -u tailscaled'; the node cannot join K3s without it"
  sleep "$POLL_SECONDS"
  TS_IP="$(tailscale_ipv4)"
done
log "Tailscale IPv4 ${TS_IP}"

# --- 3. K3s agent, pinned, joined over tailscale0 with the fleet's node name and providerID ---
# k3s reads the token file at each start: an agent token stays, root-only; a bootstrap token
# goes once k3s-agent is up (docs/security.md).
mkdir -p "${ROOT}/etc/k3s-burst" "$RUN_DIR"
chmod 0700 "${ROOT}/etc/k3s-burst" "$RUN_DIR"
write_secret "$TOKEN_FILE" "$K3S_AGENT_TOKEN"
unset K3S_AGENT_TOKEN

# A pre-baked AMI may carry the installer and the k3s binary (docs/nodes.md): then the boot
# needs neither get.k3s.io nor GitHub. A binary of another version is replaced as usual.
INSTALLER="$(mktemp "${RUN_DIR}/k3s-install.XXXXXX")"
if [ -s "${ROOT}/usr/local/share/k3s-burst/k3s-install.sh" ]; then
  log "using the pre-baked K3s installer"
  cp "${ROOT}/usr/local/share/k3s-burst/k3s-install.sh" "$INSTALLER"
else
  retry curl -fsSL --max-time 60 -o "$INSTALLER" https://get.k3s.io
fi

k3s_args=(
  "--node-name=${NODE_NAME}"
  "--node-ip=${TS_IP}"
  "--flannel-iface=tailscale0"
  "--kubelet-arg=provider-id=aws:///${AZ}/${INSTANCE_ID}"
  "--node-label=${LABEL_INSTANCE_TYPE}=${INSTANCE_TYPE}"
  "--node-label=${LABEL_ZONE}=${AZ}"
  "--node-label=${LABEL_REGION}=${REGION}"
)
for label in "${NODE_LABELS[@]}"; do k3s_args+=("--node-label=${label}"); done
# >>> ordinary
for taint in "${NODE_TAINTS[@]}"; do k3s_args+=("--node-taint=${taint}"); done
# <<< ordinary
# >>> warm-pool
# In a k3s config drop-in, not flags: a start drops the warming taint before k3s-agent runs.
TAINTS_FILE="${ROOT}/etc/rancher/k3s/config.yaml.d/50-k3s-burst-taints.yaml"
mkdir -p "${TAINTS_FILE%/*}"
{
  echo 'node-taint:'
  for taint in "${NODE_TAINTS[@]}"; do printf '  - "%s"\n' "$taint"; done
  echo '  - "k3s-burst.io/warming=true:NoSchedule" # k3s-burst-warming'
} >"$TAINTS_FILE"
chmod 0644 "$TAINTS_FILE"
# <<< warm-pool

# Type=notify: k3s-agent is active only once it fetched its certificates and its Node registered.
installer_env=(
  "INSTALL_K3S_VERSION=${K3S_VERSION}"
  "INSTALL_K3S_EXEC=agent"
  "INSTALL_K3S_TYPE=notify"
  "K3S_URL=${K3S_SERVER_URL}"
  "K3S_TOKEN_FILE=${TOKEN_FILE}"
)
# Amazon Linux 2023 runs SELinux permissive and k3s-selinux does not support it yet.
if [ "$OS_ID" = amzn ]; then installer_env+=("INSTALL_K3S_SKIP_SELINUX_RPM=true" "INSTALL_K3S_SELINUX_WARN=true"); fi
K3S_BIN="${ROOT}/usr/local/bin/k3s"
if [ -x "$K3S_BIN" ]; then
  baked_version="$("$K3S_BIN" --version 2>/dev/null || true)"
  if [[ "$baked_version" == *" ${K3S_VERSION} "* ]]; then
    log "k3s ${K3S_VERSION} is pre-baked: skipping the binary download"
    installer_env+=("INSTALL_K3S_SKIP_DOWNLOAD=true")
  else
    log "pre-baked k3s is not ${K3S_VERSION}: the installer downloads ${K3S_VERSION}"
  fi
fi

# The installer is idempotent: with the same version and flags it leaves the service alone.
install_k3s_agent() { env "${installer_env[@]}" sh "$INSTALLER" "${k3s_args[@]}"; }
log "installing the K3s agent ${K3S_VERSION} (node IP ${TS_IP}, flannel on tailscale0)"
retry install_k3s_agent
systemctl is-active --quiet k3s-agent || die "k3s-agent is not running: see 'journalctl -u k3s-agent'"

# Ready means the kubelet has its certificates: the bootstrap token is spent.
if [ "$JOIN_CREDENTIAL" = bootstrap-token ]; then
  rm -f "$TOKEN_FILE"
  log "bootstrap token removed from disk"
fi

# >>> warm-pool
WARM_UNIT=k3s-burst-warm-start.service
WARM_SCRIPT="${ROOT}/usr/local/sbin/k3s-burst-warm-start"
# Runs at every later boot (a start), before k3s-agent: k3s fetches the kubelet's certificates
# with the join token at every start, and the Node was deleted while parked, so the fresh
# short-lived token the launch Lambda set as user data (ModifyInstanceAttribute) goes in place
# first, and the warming taint goes. IMDSv2 with hop limit 1: pods cannot read the user data.
mkdir -p "${WARM_SCRIPT%/*}"
cat >"$WARM_SCRIPT" <<'WARM'
#!/bin/bash
# k3s-burst warm start: installed by the bootstrap of a warm-pool member (docs/operations.md).
set -Eeuo pipefail
umask 077
ROOT="${K3S_BURST_ROOT:-}"
IMDS=http://169.254.169.254
TOKEN_FILE="${ROOT}/etc/k3s-burst/agent-token"
TAINTS_FILE="${ROOT}/etc/rancher/k3s/config.yaml.d/50-k3s-burst-taints.yaml"
log() { printf '%s k3s-burst-warm-start: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() {
  log "ERROR: $*"
  exit 1
}
if [ "${1:-}" = spent ]; then
  rm -f "$TOKEN_FILE"
  log "k3s-agent is up: join token removed from disk"
  exit 0
fi
imds_token="$(curl -sS -f -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
  --connect-timeout 2 --max-time 5 --retry 3 --retry-connrefused "${IMDS}/latest/api/token")" ||
  fail "IMDSv2 refused a session token"
user_data="$(curl -sS -f -H "X-aws-ec2-metadata-token: ${imds_token}" \
  --connect-timeout 2 --max-time 5 --retry 3 --retry-connrefused "${IMDS}/latest/user-data")" ||
  fail "cannot read the user data from IMDSv2"
[[ "$user_data" == *'# k3s-burst warm-start credential'* ]] ||
  fail "the user data holds no warm-start credential: this boot is not a k3s-burst start"
token="$(printf '%s\n' "$user_data" | sed -n "s/^K3S_BURST_JOIN_TOKEN='\([!-&(-~]*\)'\$/\1/p" | head -n 1)"
unset user_data
[ -n "$token" ] || fail "the warm-start credential is malformed"
mkdir -p "${TOKEN_FILE%/*}"
install -m 0600 /dev/null "$TOKEN_FILE"
printf '%s\n' "$token" >"$TOKEN_FILE"
unset token
if [ -f "$TAINTS_FILE" ]; then sed -i '/# k3s-burst-warming/d' "$TAINTS_FILE"; fi
log "fresh join token in place, warming taint dropped: k3s-agent registers this node again"
WARM
chmod 0700 "$WARM_SCRIPT"
cat >"${UNIT_DIR}/${WARM_UNIT}" <<EOF
[Unit]
Description=k3s-burst: fresh join token, no warming taint, before k3s-agent on a warm start
Wants=network-online.target
After=network-online.target
Before=k3s-agent.service
ConditionPathExists=/var/lib/k3s-burst/bootstrap-complete

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/k3s-burst-warm-start

[Install]
WantedBy=multi-user.target
RequiredBy=k3s-agent.service
EOF
chmod 0644 "${UNIT_DIR}/${WARM_UNIT}"
# ExecStartPost runs once k3s-agent is up (notify: certificates fetched, Node registered).
if [ "$JOIN_CREDENTIAL" = bootstrap-token ]; then
  mkdir -p "${UNIT_DIR}/k3s-agent.service.d"
  printf '[Service]\nExecStartPost=-/usr/local/sbin/k3s-burst-warm-start spent\n' \
    >"${UNIT_DIR}/k3s-agent.service.d/50-k3s-burst-token.conf"
fi
systemctl daemon-reload
# Enabled, not started: this boot is the launch; the unit acts from the first start on.
systemctl enable "$WARM_UNIT"
# <<< warm-pool
mkdir -p "$STATE_DIR"
date -u +%Y-%m-%dT%H:%M:%SZ >"${STATE_DIR}/bootstrap-complete"
log "done: node ${NODE_NAME} is joining ${K3S_SERVER_URL} over tailscale0 (${TS_IP})"
