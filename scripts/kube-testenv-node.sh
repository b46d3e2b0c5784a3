# shellcheck shell=bash
# Sourced by scripts/kube-testenv for `up DIR --node`: one node (containerd, kubelet, kube-proxy)
# in a network and a mount namespace of the cluster's own, so that several clusters can run on
# one machine at once and none of them changes the host's network or mounts:
#
#   host                                          netns driftless-N (mount namespace DIR/node/ns/mnt)
#   etcd, kube-apiserver on 10.201.N.1  <-veth->  10.201.N.2: containerd, kubelet, kube-proxy
#   kube-controller-manager, kube-scheduler       bridge dlbrN 10.202.N.1/24 <- pods (host-local IPAM)
#
# Pods reach the API server through the `kubernetes` Service (10.96.0.1): kube-proxy's iptables
# rules, inside the netns, send it to 10.201.N.1, and the bridge plugin masquerades pod traffic
# leaving the bridge, so the host needs no route to the pods. The netns has no default route:
# nothing a pod (or an image pull) sends can leave this machine. `ip netns del` takes the bridge,
# the veth pair and every iptables rule with it; the mount namespace takes every mount the node
# made (kubelet's volumes, container root filesystems, pod netns handles).
#
# Host-global things a kubelet or containerd would otherwise share with another cluster's are made
# per cluster: the cgroup root (/driftless-N: a kubelet kills processes in pod cgroups it does not
# know), /var/log/pods (kubelet deletes log folders of pods it does not know), /var/lib/cni (IPAM
# leases), /run/containerd (shim sockets). Six kernel settings kubelet insists on (vm.overcommit_memory,
# kernel.panic, ...) are shown to it already set, from files under DIR, so it never writes the
# host's.

NODE_NAME=driftless-node
KUBELET_PORT=10250
PROXY_HEALTHZ_PORT=10256

node_tools() {
  [ "$(id -u)" = 0 ] || die "--node needs root (network namespaces, cgroups, mounts)"
  [ -f /sys/fs/cgroup/memory/cgroup.procs ] || die "--node needs cgroup v1 (kubelet 1.20); /sys/fs/cgroup/memory is missing"
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  [ -x /usr/sbin/runc ] || command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  [ -x /usr/sbin/iptables ] || missing+=(iptables)
  [ -x /usr/sbin/conntrack ] || missing+=(conntrack)
  command -v jq >/dev/null || missing+=(jq)
  command -v ip >/dev/null || missing+=(iproute2)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# Prints the folder holding kube-scheduler, kubelet and kube-proxy, as `assets` does for the
# control plane. The cache marker NODE says where they came from; a cache made before nodes existed
# has none, so they are fetched.
node_assets() {
  local want=(kube-scheduler kubelet kube-proxy)
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && has_all "$KUBEBUILDER_ASSETS" "${want[@]}"; then
    echo "$KUBEBUILDER_ASSETS"; return
  fi
  if [ -f "$CACHE_DIR/NODE" ] && has_all "$CACHE_DIR" "${want[@]}"; then echo "$CACHE_DIR"; return; fi
  lock_cache
  if [ -f "$CACHE_DIR/NODE" ] && has_all "$CACHE_DIR" "${want[@]}"; then echo "$CACHE_DIR"; return; fi
  local shared=$REPO_ROOT/../shared/kube-assets
  local archive=$shared/kube-node-$KUBE_VERSION-linux-amd64.tar.xz
  if [ -f "$archive" ] && [ -f "$shared/SHA256SUMS" ]; then
    (cd "$shared" && sha256sum --check --quiet --ignore-missing SHA256SUMS >&2) || die "checksum mismatch: $archive"
    grep -q " ${archive##*/}\$" "$shared/SHA256SUMS" || die "$archive is not listed in SHA256SUMS"
    mkdir -p "$CACHE_DIR"
    tar -xJf "$archive" -C "$CACHE_DIR"
    echo "shared archive $(sha256sum "$archive" | cut -d' ' -f1)" >"$CACHE_DIR/NODE"
  else
    build_from_source "${want[@]}"
    echo "reflect2 1.0.2" >"$CACHE_DIR/NODE"
  fi
  echo "$CACHE_DIR"
}

node_vars() { # n: the cluster's slot, 1-250, which names everything host-visible
  NODE_ID=$1
  NODE_NETNS=driftless-$1
  NODE_HOST_IF=dlhost$1
  NODE_IF=dlnode$1
  NODE_BRIDGE=dlbr$1
  NODE_CGROUP=driftless-$1
  API_IP=10.201.$1.1
  NODE_IP=10.201.$1.2
  POD_CIDR=10.202.$1.0/24
  POD_GATEWAY=10.202.$1.1
  # A command prefix: run inside the node's network and mount namespaces.
  NSENTER=(nsenter "--net=/run/netns/$NODE_NETNS" "--mount=$DIR/node/ns/mnt" --)
}

# Claims a free slot: `ip netns add` fails when the name exists, so two clusters starting at once
# never get the same one. Writes DIR/node/id first thing, so `down` can undo a half-made node.
node_allocate() {
  mkdir -p "$DIR/node"
  local start=$((RANDOM % 250)) i n
  for i in $(seq 0 249); do
    n=$(((start + i) % 250 + 1))
    ip netns add "driftless-$n" 2>/dev/null || continue
    node_vars "$n"
    if ! cgroup_remove || ! ip link add "$NODE_HOST_IF" type veth peer name "$NODE_IF" netns "$NODE_NETNS" 2>/dev/null; then
      # A leftover of a cluster that was never taken down; leave it be.
      ip netns del "$NODE_NETNS" 2>/dev/null || true
      continue
    fi
    echo "$n" >"$DIR/node/id"
    return
  done
  die "no free node slot: 250 network namespaces driftless-N exist"
}

node_network() {
  ip addr add "$API_IP/30" dev "$NODE_HOST_IF"
  ip link set "$NODE_HOST_IF" up
  nsenter --net="/run/netns/$NODE_NETNS" sh -euc '
    ip addr add "$1/30" dev "$2"
    ip link set "$2" up
    ip link set lo up
    sysctl -qw net.ipv4.ip_forward=1' _ "$NODE_IP" "$NODE_IF"
}

# The values kubelet wants (else it writes them to the host's /proc/sys).
KERNEL_SETTINGS=(vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1
  kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000)

node_mount_namespace() {
  local d=$DIR/node
  mkdir -p "$d/ns" "$d/var-log" "$d/var-lib-cni" "$d/run-containerd" "$d/sysctl"
  # Mount points on the host: empty folders, nothing is mounted on them there.
  mkdir -p /var/lib/cni /run/containerd
  local setting key
  for setting in "${KERNEL_SETTINGS[@]}"; do
    key=${setting%=*}
    echo "${setting#*=}" >"$d/sysctl/${key//\//.}"
  done
  # A namespace can only be kept in a file on a private mount.
  mount --bind "$d/ns" "$d/ns"
  mount --make-private "$d/ns"
  touch "$d/ns/mnt"
  unshare --mount="$d/ns/mnt" --propagation private bash -euc '
    d=$1; shift
    # Other clusters netns handles, copied into this namespace, would keep their netns alive
    # after they are deleted.
    umount -R /run/netns 2>/dev/null || true
    mount --bind "$d/var-log" /var/log
    mount --bind "$d/var-lib-cni" /var/lib/cni
    mount --bind "$d/run-containerd" /run/containerd
    for setting in "$@"; do
      key=${setting%=*}
      mount --bind "$d/sysctl/${key//\//.}" "/proc/sys/$key"
    done' _ "$d" "${KERNEL_SETTINGS[@]}"
}

# Every v1 hierarchy gets DIR's cgroup root; cpuset needs its cpus and mems before anyone joins.
node_cgroups() {
  local h
  for h in /sys/fs/cgroup/*/; do
    if [ ! -f "$h/cgroup.procs" ] || [ "$h" = /sys/fs/cgroup/unified/ ]; then continue; fi
    mkdir -p "$h$NODE_CGROUP"
    if [ -f "$h/cpuset.cpus" ]; then
      cat "$h/cpuset.cpus" >"$h$NODE_CGROUP/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h$NODE_CGROUP/cpuset.mems"
    fi
  done
}

# Removes the cluster's cgroups, deepest first; fails if one still holds a process.
cgroup_remove() {
  local h ok=0
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h$NODE_CGROUP" ] || continue
    find "$h$NODE_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || ok=1
  done
  return $ok
}

# Pods (in the cluster's cgroups) and containerd's shims (in its netns).
node_pids() {
  {
    ip netns pids "$NODE_NETNS" 2>/dev/null || true
    find "/sys/fs/cgroup/pids/$NODE_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  } | sort -un
}

node_prepare() {
  node_tools
  NODE_BIN=$(node_assets)
  node_allocate
  node_network
  node_mount_namespace
  node_cgroups
  # PAUSE_IMAGE, WORKLOAD_IMAGE, DRIFTLESS_IMAGE; the images themselves are built later.
  eval "$("$REPO_ROOT/scripts/test-images" names)"
}

# The node's images: pause, the busybox workload, and driftless when it is built
# (DIR/node/images/images.env says which tars there are).
node_images() {
  local binary=${DRIFTLESS_IMAGE_BINARY:-} target=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
  if [ -z "$binary" ] && [ -x "$target/debug/driftless" ]; then binary=$target/debug/driftless; fi
  if [ -z "$binary" ] && [ -x "$target/release/driftless" ]; then binary=$target/release/driftless; fi
  if [ -n "$binary" ]; then
    "$REPO_ROOT/scripts/test-images" build "$DIR/node/images" --driftless "$binary"
  else
    log "NOTE: no driftless binary built (target/debug/driftless): no driftless image; tests that need it skip"
    "$REPO_ROOT/scripts/test-images" build "$DIR/node/images"
  fi
}

# containerd, with everything under DIR, then the images built and imported into its CRI
# namespace. Runs in the background while the API server starts (kubelet only needs containerd
# to answer; the images must be there before `up` returns).
node_start_runtime() {
  local d=$DIR/node sock=$DIR/node/containerd.sock
  # Unix socket paths are limited to 107 bytes (containerd adds ".ttrpc").
  [ ${#sock} -le 100 ] || die "DIR is too long for containerd's socket path: $sock"
  mkdir -p "$d/cni"
  cat >"$d/containerd.toml" <<EOF
version = 2
root = "$d/containerd/root"
state = "$d/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Pods may not get a lower oom_score_adj than containerd's: this sandbox refuses negative
  # values, and without this every sandbox fails ("can't get final child's PID from pipe").
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$d/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$d/cni"
    max_conf_num = 1
EOF
  cat >"$d/cni/10-driftless.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$NODE_NETNS",
  "plugins": [{
    "type": "bridge",
    "bridge": "$NODE_BRIDGE",
    "isGateway": true,
    "ipMasq": true,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY"}]],
      "routes": [{"dst": "0.0.0.0/0"}],
      "dataDir": "$d/cni-ipam"
    }
  }]
}
EOF
  start_bg containerd "$DIR/logs/containerd.log" "${NSENTER[@]}" containerd --config "$d/containerd.toml"
  node_wait_containerd
  node_images
  local tar PAUSE_TAR WORKLOAD_TAR DRIFTLESS_TAR=""
  # shellcheck disable=SC1091
  . "$DIR/node/images/images.env"
  for tar in "$PAUSE_TAR" "$WORKLOAD_TAR" ${DRIFTLESS_TAR:+"$DRIFTLESS_TAR"}; do
    ctr --address "$sock" -n k8s.io images import "$tar" >"$DIR/logs/ctr-import.log" 2>&1 ||
      { cat "$DIR/logs/ctr-import.log" >&2; die "importing $tar failed"; }
  done
}

node_wait_containerd() {
  local deadline=$((SECONDS + 30))
  until ctr --address "$DIR/node/containerd.sock" version >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then tail -n 30 "$DIR/logs/containerd.log" >&2; die "containerd did not start"; fi
    sleep 0.2
  done
}

# kubelet and kube-proxy, started while the API server is still starting: kubelet needs some 6 s
# to initialize (cAdvisor waits 5 s for a Docker daemon that is not there), and they retry until
# the API server answers. The kubeconfig only needs the API server's certificate, written first.
node_start_kubelet() { # server token
  local deadline=$((SECONDS + 30))
  until [ -f "$DIR/certs/apiserver.key" ] && openssl x509 -noout -in "$DIR/certs/apiserver.crt" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      tail -n 20 "$DIR/logs/kube-apiserver.log" >&2; die "kube-apiserver wrote no certificate"
    fi
    sleep 0.1
  done
  write_kubeconfig "$1" "$2"
  node_wait_containerd
  # --oom-score-adj=0: this sandbox refuses negative values. The image GC thresholds keep the
  # imported images (nothing could pull them again); no hard eviction on a busy disk. A status
  # check every second (it writes only on a change) reports Ready at once, not 10 s later.
  start_bg kubelet "$DIR/logs/kubelet.log" "${NSENTER[@]}" "$NODE_BIN/kubelet" \
    --kubeconfig="$DIR/kubeconfig" --container-runtime=remote \
    --container-runtime-endpoint="unix://$DIR/node/containerd.sock" \
    --fail-swap-on=false --cgroup-driver=cgroupfs --cgroup-root="/$NODE_CGROUP" \
    --root-dir="$DIR/node/kubelet" --cert-dir="$DIR/node/kubelet/pki" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --address="$NODE_IP" \
    --port="$KUBELET_PORT" --read-only-port=0 --healthz-bind-address=127.0.0.1 \
    --pod-infra-container-image="$PAUSE_IMAGE" --oom-score-adj=0 \
    --eviction-hard= --image-gc-high-threshold=100 --image-gc-low-threshold=99 \
    --volume-stats-agg-period=0 --serialize-image-pulls=false \
    --node-status-update-frequency=1s
  # The zeros leave the conntrack sysctls alone (they are not per network namespace).
  start_bg kube-proxy "$DIR/logs/kube-proxy.log" "${NSENTER[@]}" "$NODE_BIN/kube-proxy" \
    --kubeconfig="$DIR/kubeconfig" --proxy-mode=iptables --hostname-override="$NODE_NAME" \
    --cluster-cidr="$POD_CIDR" --bind-address="$NODE_IP" \
    --healthz-bind-address="127.0.0.1:$PROXY_HEALTHZ_PORT" --metrics-bind-address=127.0.0.1:10249 \
    --oom-score-adj=0 --conntrack-max-per-core=0 \
    --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0
}

node_start() { # token api_port
  wait "$RUNTIME_JOB" || die "containerd or the image imports failed (logs: $DIR/logs)"
  RUNTIME_JOB=""
  # No driftless binary, no driftless image.
  grep -q '^DRIFTLESS_TAR=' "$DIR/node/images/images.env" || DRIFTLESS_IMAGE=""
  local sched_port; sched_port=$(free_port)
  start_bg kube-scheduler "$DIR/logs/kube-scheduler.log" "$NODE_BIN/kube-scheduler" \
    --kubeconfig="$DIR/kubeconfig" --leader-elect=false --bind-address=127.0.0.1 \
    --secure-port="$sched_port" --port=0
  node_wait_ready "$1" "$2"
}

# Ready and untainted (the node lifecycle controller lifts node.kubernetes.io/not-ready), and
# kube-proxy has programmed the `kubernetes` Service, so pods can run and reach the API server.
# Fails at once if a daemon has died, with its log's tail.
node_wait_ready() { # token api_port
  local deadline=$((SECONDS + 120)) node="" pid name
  until node=$(curl -skf -H "Authorization: Bearer $1" "https://$API_IP:$2/api/v1/nodes/$NODE_NAME") &&
    jq -e '(.status.conditions // [] | any(.type == "Ready" and .status == "True"))
      and ((.spec.taints // []) | length == 0)' <<<"$node" >/dev/null &&
    "${NSENTER[@]}" iptables -w -t nat -S KUBE-SERVICES 2>/dev/null | grep -- '-d 10.96.0.1/32' >/dev/null; do
    while read -r pid name; do
      if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 30 "$DIR/logs/$name.log" >&2; die "$name exited (logs: $DIR/logs)"
      fi
    done <"$DIR/pids"
    if [ $SECONDS -ge $deadline ]; then
      local f; for f in kubelet containerd kube-proxy kube-controller-manager; do
        log "--- $f.log (last 20 lines)"; tail -n 20 "$DIR/logs/$f.log" >&2
      done
      log "node: ${node:-not registered}"
      die "the node did not become Ready within 120 s (logs: $DIR/logs)"
    fi
    sleep 0.5
  done
}

node_down() {
  node_vars "$(cat "$DIR/node/id")"
  # What is left once the recorded processes are gone: containerd's shims and the pods.
  local pids i
  for i in $(seq 1 50); do
    pids=$(node_pids)
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    sleep 0.2
  done
  [ -z "$(node_pids)" ] || log "WARNING: processes of node $NODE_ID survived: $(node_pids | tr '\n' ' ')"
  # Nothing holds the mount namespace now: unmounting its file frees it, and every mount in it.
  umount "$DIR/node/ns/mnt" 2>/dev/null || umount -l "$DIR/node/ns/mnt" 2>/dev/null || true
  umount "$DIR/node/ns" 2>/dev/null || true
  ip link del "$NODE_HOST_IF" 2>/dev/null || true
  ip netns del "$NODE_NETNS" 2>/dev/null || true
  cgroup_remove || log "WARNING: cgroups /$NODE_CGROUP could not all be removed"
  rm -f "$DIR/node/id"
}
