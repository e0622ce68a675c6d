#!/usr/bin/env bash
# Drives the real kubectl against fake_apiserver.py and checks what comes back.
# Usage: Tests/KubeAPI/selftest.sh    (needs kubectl, python3, cmp; no cluster, no network)
# KUBECTL=path picks another kubectl; KEEP_TMP=1 keeps the temp dir (outputs, request log).
# Exits non-zero if any check fails, printing what failed.  Leaves no processes behind.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
FIX="$HERE/fixtures"
KUBECTL=${KUBECTL:-kubectl}
T=$(mktemp -d "${TMPDIR:-/tmp}/knetcap-kubeapi.XXXXXX")
SERVER_PID=""
FAILED=0

cleanup() {
    # Background kubectl processes of this script, then the server: by PID only.
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        for _ in $(seq 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null
    fi
    wait 2>/dev/null
    if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1"; shift; for text in "$@"; do [ -n "$text" ] && printf '%s\n' "$text" | sed 's/^/      /'; done; FAILED=$((FAILED + 1)); }

# kc NAME ARGS...: runs kubectl (20 s limit), stdout in $T/NAME.out, stderr in $T/NAME.err,
# exit status in $RC.
kc() {
    local name=$1; shift
    timeout 20 "$KUBECTL" "$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
}
show() { cat "$T/$1.out" "$T/$1.err" 2>/dev/null | sed 's/^/| /' | head -20; }

# ---- start the server on a free port ------------------------------------------------------
python3 "$HERE/fake_apiserver.py" --fixtures "$FIX" --port 0 --port-file "$T/port" \
    --requests "$T/requests.jsonl" 2>"$T/server.err" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
if [ ! -s "$T/port" ]; then echo "FAIL  server did not start"; cat "$T/server.err"; exit 1; fi
PORT=$(cat "$T/port")

cat >"$T/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: http://127.0.0.1:$PORT
contexts:
- name: fake
  context:
    cluster: fake
    user: fake
    namespace: default
current-context: fake
users:
- name: fake
  user: {}
EOF
export KUBECONFIG="$T/kubeconfig" KUBECACHEDIR="$T/cache"
kc version version -o json
echo "fake API server on 127.0.0.1:$PORT (pid $SERVER_PID); kubectl $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["clientVersion"]["gitVersion"], "against server", d["serverVersion"]["gitVersion"])' "$T/version.out" 2>/dev/null)"

# jq-free JSON checks: pycheck FILE 'python expression using d' -> prints result, status 0 if truthy
pycheck() {
    python3 - "$1" "$2" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    r = eval(sys.argv[2])
except Exception as e:
    print("error: %s" % e); sys.exit(1)
print(r); sys.exit(0 if r else 1)
PY
}

# ---- 1. get nodes ------------------------------------------------------------------------------
kc nodes get nodes
if [ $RC -eq 0 ] && grep -Eq '^node-a +Ready' "$T/nodes.out" && grep -Eq '^node-b +Ready +control-plane' "$T/nodes.out"; then
    pass "kubectl get nodes"
else fail "kubectl get nodes (rc=$RC)" "$(show nodes)"; fi

# ---- 2. get node node-a -o json ------------------------------------------------------------
kc node get node node-a -o json
if [ $RC -eq 0 ] && pycheck "$T/node.out" 'd["kind"]=="Node" and d["metadata"]["name"]=="node-a" and d["metadata"]["labels"]["kubernetes.io/hostname"]=="node-a"' >/dev/null; then
    pass "kubectl get node node-a -o json"
else fail "kubectl get node node-a -o json (rc=$RC)" "$(show node)"; fi

# ---- 3. get pods -A -l app=client -o json ------------------------------------------------------
kc clientpods get pods -A -l app=client -o json
if [ $RC -eq 0 ] && pycheck "$T/clientpods.out" '[p["metadata"]["name"] for p in d["items"]]==["client-7d9f"] and d["items"][0]["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")' >/dev/null; then
    pass "kubectl get pods -A -l app=client -o json"
else fail "kubectl get pods -A -l app=client -o json (rc=$RC)" "$(show clientpods)"; fi

# ---- 4. jsonpath nodeName ------------------------------------------------------------------------
kc nodename get pod client-7d9f -n default -o 'jsonpath={.spec.nodeName}'
if [ $RC -eq 0 ] && [ "$(cat "$T/nodename.out")" = node-a ]; then
    pass "kubectl get pod client-7d9f -o jsonpath={.spec.nodeName} = node-a"
else fail "jsonpath {.spec.nodeName} (rc=$RC)" "$(show nodename)"; fi

# ---- 5. missing namespace -------------------------------------------------------------------------
kc nons get ns knetcap-system
if [ $RC -ne 0 ] && grep -q 'Error from server (NotFound): namespaces "knetcap-system" not found' "$T/nons.err"; then
    pass "kubectl get ns knetcap-system fails with NotFound"
else fail "get ns knetcap-system should fail with NotFound (rc=$RC)" "$(show nons)"; fi

# ---- 6. create namespace with a label ------------------------------------------------------------
cat >"$T/ns.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: knetcap-system
  labels:
    pod-security.kubernetes.io/enforce: privileged
EOF
kc createns create -f - <"$T/ns.yaml"
kc nslabel get ns knetcap-system -o 'jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}'
if [ $RC -eq 0 ] && [ "$(cat "$T/nslabel.out")" = privileged ] && grep -q 'namespace/knetcap-system created' "$T/createns.out"; then
    pass "kubectl create -f - (Namespace), label enforce=privileged"
else fail "create namespace / read its label (rc=$RC)" "$(show createns)" "$(show nslabel)"; fi

# ---- 7. relabel -------------------------------------------------------------------------------------
kc relabel label ns knetcap-system pod-security.kubernetes.io/enforce=baseline --overwrite
R1=$RC
kc nslabel2 get ns knetcap-system -o 'jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}'
if [ $R1 -eq 0 ] && [ "$(cat "$T/nslabel2.out")" = baseline ]; then
    pass "kubectl label ns knetcap-system ...=baseline --overwrite"
else fail "label --overwrite (rc=$R1)" "$(show relabel)" "$(show nslabel2)"; fi

# ---- 8. create a List of two Jobs -------------------------------------------------------------------
cat >"$T/jobs.json" <<'EOF'
{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {
      "apiVersion": "batch/v1",
      "kind": "Job",
      "metadata": {"name": "knetcap-test1-node-a", "namespace": "knetcap-system", "labels": {"knetcap.io/run": "test1"}},
      "spec": {
        "backoffLimit": 0,
        "template": {
          "metadata": {"labels": {"knetcap.io/run": "test1"}},
          "spec": {
            "nodeName": "node-a",
            "hostNetwork": true,
            "restartPolicy": "Never",
            "containers": [{"name": "knetcap", "image": "ghcr.io/example/knetcap:test",
                            "args": ["capture", "--output", "/out/capture.pcapng"]}]
          }
        }
      }
    },
    {
      "apiVersion": "batch/v1",
      "kind": "Job",
      "metadata": {"name": "knetcap-test1-node-b", "namespace": "knetcap-system", "labels": {"knetcap.io/run": "test1"}},
      "spec": {
        "backoffLimit": 0,
        "template": {
          "metadata": {"labels": {"knetcap.io/run": "test1"}},
          "spec": {
            "nodeSelector": {"kubernetes.io/hostname": "node-b"},
            "tolerations": [{"operator": "Exists"}],
            "hostNetwork": true,
            "restartPolicy": "Never",
            "containers": [{"name": "knetcap", "image": "ghcr.io/example/knetcap:test",
                            "args": ["capture", "--output", "/out/capture.pcapng"]}]
          }
        }
      }
    }
  ]
}
EOF
kc createjobs create -f - <"$T/jobs.json"
if [ $RC -eq 0 ] && [ "$(grep -c '^job.batch/knetcap-test1-node-[ab] created$' "$T/createjobs.out")" = 2 ]; then
    pass "kubectl create -f - (v1 List of two Jobs)"
else fail "create -f - of two Jobs (rc=$RC)" "$(show createjobs)"; fi

# ---- 9. the Jobs' pods -----------------------------------------------------------------------------
kc jobpods get pods -n knetcap-system -l knetcap.io/run=test1 -o json
CHECK='sorted((p["metadata"]["labels"]["job-name"], p["spec"]["nodeName"], p["status"]["phase"]) for p in d["items"]) == [("knetcap-test1-node-a","node-a","Running"),("knetcap-test1-node-b","node-b","Running")] and all(p["metadata"]["name"].startswith(p["metadata"]["labels"]["job-name"]+"-") and len(p["metadata"]["name"])==len(p["metadata"]["labels"]["job-name"])+6 and p["metadata"]["ownerReferences"][0]["kind"]=="Job" and p["metadata"]["labels"]["batch.kubernetes.io/controller-uid"]==p["metadata"]["ownerReferences"][0]["uid"] and p["status"]["containerStatuses"][0]["state"]["running"] for p in d["items"])'
if [ $RC -eq 0 ] && pycheck "$T/jobpods.out" "$CHECK" >/dev/null; then
    pass "kubectl get pods -n knetcap-system -l knetcap.io/run=test1: two Running pods on node-a and node-b"
else fail "job pods (rc=$RC)" "$(show jobpods)"; fi
POD_A=$(python3 -c 'import json,sys; print([p["metadata"]["name"] for p in json.load(open(sys.argv[1]))["items"] if p["spec"]["nodeName"]=="node-a"][0])' "$T/jobpods.out" 2>/dev/null)

# ---- 10. kubectl cp (before the delete) ----------------------------------------------------------------
kc cp cp "knetcap-system/$POD_A:/out/capture.pcapng" "$T/x.pcapng" -c knetcap
if [ $RC -eq 0 ] && cmp -s "$T/x.pcapng" "$FIX/captures/node-a.pcapng"; then
    pass "kubectl cp knetcap-system/$POD_A:/out/capture.pcapng: identical to fixtures/captures/node-a.pcapng"
else fail "kubectl cp (rc=$RC)" "$(show cp)" "$(cmp "$T/x.pcapng" "$FIX/captures/node-a.pcapng" 2>&1)"; fi

# ---- 11. logs -f, ended by deleting the Jobs -----------------------------------------------------------
: >"$T/logs.out"
(
    # Once the whole fixture log has arrived, delete the jobs (as the plugin will on Ctrl-C).
    for _ in $(seq 100); do
        [ "$(wc -l <"$T/logs.out")" -ge "$(wc -l <"$FIX/logs/node-a.log")" ] && break
        sleep 0.05
    done
    timeout 20 "$KUBECTL" delete job -n knetcap-system -l knetcap.io/run=test1 --wait=false >"$T/delete.out" 2>"$T/delete.err"
    echo $? >"$T/delete.rc"
) &
DELETER=$!
START=$(date +%s)
kc logs logs -f -n knetcap-system "$POD_A" -c knetcap
LOGS_RC=$RC
wait $DELETER
ELAPSED=$(( $(date +%s) - START ))
if [ $LOGS_RC -eq 0 ] && cmp -s "$T/logs.out" "$FIX/logs/node-a.log"; then
    pass "kubectl logs -f printed fixtures/logs/node-a.log and returned after the delete (${ELAPSED}s)"
else fail "kubectl logs -f (rc=$LOGS_RC, 124 = still streaming after 20 s)" "$(show logs)"; fi
if [ "$(cat "$T/delete.rc")" = 0 ] && [ "$(grep -c '^job.batch "knetcap-test1-node-[ab]" deleted$' "$T/delete.out")" = 2 ]; then
    pass "kubectl delete job -n knetcap-system -l knetcap.io/run=test1 --wait=false"
else fail "delete jobs (rc=$(cat "$T/delete.rc"))" "$(show delete)"; fi

# Deleting the Jobs deletes their pods (garbage collector, then graceful termination).
GONE=no
for _ in $(seq 40); do
    kc afterpods get pods -n knetcap-system -o json
    if [ $RC -eq 0 ] && pycheck "$T/afterpods.out" 'd["items"]==[]' >/dev/null; then GONE=yes; break; fi
    sleep 0.1
done
[ $GONE = yes ] && pass "the Jobs' pods are gone after the delete" || fail "pods still present after delete" "$(show afterpods)"

# ---- 12. the request log holds both Job POST bodies ------------------------------------------------------
if python3 - "$T/requests.jsonl" "$T/jobs.json" <<'PY'
import json, sys
sent = {j["metadata"]["name"]: j for j in json.load(open(sys.argv[2]))["items"]}
posts = [r for r in map(json.loads, open(sys.argv[1]))
         if r["method"] == "POST" and r["path"] == "/apis/batch/v1/namespaces/knetcap-system/jobs"]
got = {r["body"]["metadata"]["name"]: r for r in posts if r["body"]}
ok = len(posts) == 2 and set(got) == set(sent) and all(got[n]["body"] == sent[n] for n in sent) \
    and all(r["query"].get("fieldValidation") == ["Strict"] for r in posts)
print("      POSTs logged: %s" % sorted(got))
sys.exit(0 if ok else 1)
PY
then pass "request log has both Job POST bodies, as sent, with fieldValidation=Strict"
else fail "request log: Job POST bodies" "$(grep -c . "$T/requests.jsonl") requests logged"; fi

# No warnings: every kubectl that should succeed left stderr empty.
NOISY=""
for f in "$T"/*.err; do
    case $(basename "$f") in nons.err|server.err) continue ;; esac
    [ -s "$f" ] && NOISY="$NOISY $(basename "$f" .err)"
done
[ -z "$NOISY" ] && pass "no kubectl warnings on stderr" || fail "kubectl wrote to stderr:$NOISY" "$(for n in $NOISY; do head -3 "$T/$n.err"; done)"
if [ -s "$T/server.err" ]; then fail "server wrote to stderr" "$(head -20 "$T/server.err")"; fi

echo "requests served: $(grep -c . "$T/requests.jsonl")"
if [ $FAILED -ne 0 ]; then echo "$FAILED check(s) FAILED"; exit 1; fi
echo "all checks passed"
