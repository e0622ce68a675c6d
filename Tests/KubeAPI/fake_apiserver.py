#!/usr/bin/env python3
"""A small fake Kubernetes API server that the real kubectl (v1.32) can be driven against.

    python3 fake_apiserver.py --fixtures DIR --port 0 --port-file F --requests LOG

Python 3 standard library only.  Listens on 127.0.0.1, plain HTTP (kubeconfig
`server: http://127.0.0.1:PORT`), one thread per connection.  Every request is appended
to LOG as one JSON line {"method","path","query","body","time"}.

What it serves (see README.md for where each response shape comes from):
  * discovery: /version, /api, /apis (aggregated discovery apidiscovery.k8s.io/v2 when the
    client asks for it, the legacy APIVersions/APIGroupList otherwise), /api/v1,
    /apis/batch, /apis/batch/v1, /openapi/v3 (+ one small document per group-version,
    enough for kubectl's server-side field validation check), /openapi/v2 (an empty but
    valid protobuf document, so kubectl's client-side schema validation is a no-op).
  * core/v1 namespaces, nodes, pods; batch/v1 jobs: get, list (labelSelector,
    fieldSelector, watch), create, update, patch, delete.  Creating a Job synthesizes
    its Pod(s) the way the Job controller + scheduler + kubelet would.
  * pods/log (plain or follow=true, chunked), pods/exec over WebSocket
    (v5.channel.k8s.io), answering `tar cf - PATH` with a tar of the fixture capture.
  * anything else: a 404 Status, logged like every other request.

Everything here is reconstructed from public documentation and source code, not recorded
from a real cluster.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import io
import json
import os
import random
import re
import select
import signal
import socket
import struct
import tarfile
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# The version the fake claims.  It matters: /usr/bin/kubectl on this machine is Google's
# kubectl *dispatcher*, which first GETs /version and then runs the kubectl.1.NN binary
# that matches the server's minor version.  Claiming 1.32 makes it run kubectl.1.32.
VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "0000000000000000000000000000000000000000",  # fake: not a real commit
    "gitTreeState": "clean",
    "buildDate": "2025-04-22T16:03:25Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# Accept/Content-Type of aggregated discovery (KEP-3352).
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
# kubectl asks for "...spec.v2@v1.0+protobuf"; Go's mime parser rejects "@" in a
# Content-Type, so the answer uses the dotted form kube-openapi also serves.
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

# Seconds between two log lines when streaming a fixture log.
LOG_LINE_DELAY = 0.05
# Seconds a deleted pod stays "Terminating" before it disappears (graceful deletion).
POD_TERMINATION_DELAY = 0.2
# Seconds after a Job's deletion before the garbage collector deletes its pods.
GC_DELAY = 0.1


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def rand_suffix(n=5):
    # k8s.io/apimachinery/pkg/util/rand.String: consonants and digits only (no vowels,
    # no 0/1/3 -- to avoid accidental words).  This is what generateName uses.
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration (the AGE column)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 60 * 3:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    if h < 24 * 365 * 8:
        return "%dy%dd" % (h // 24 // 365, (h // 24) % 365)
    return "%dy" % (h // 24 // 365)


def age(obj):
    ts = obj.get("metadata", {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - parse_time(ts)).total_seconds())


class ApiError(Exception):
    """An error answered as a metav1.Status (api-conventions.md, "Response Status Kind")."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason}
        st["details"] = self.details if self.details is not None else {}
        st["code"] = self.code
        return st


def not_found_generic():
    # What kube-apiserver answers for a path it does not serve at all.
    return ApiError(404, "NotFound", "the server could not find the requested resource")


# --------------------------------------------------------------------------------------
# The resources this server knows.  Discovery is generated from this table, so kubectl
# only learns about what the fake actually implements.
# --------------------------------------------------------------------------------------

class Resource:
    def __init__(self, group, version, plural, singular, kind, namespaced, verbs,
                 short=(), categories=(), subresources=()):
        self.group, self.version, self.plural, self.singular = group, version, plural, singular
        self.kind, self.namespaced, self.verbs = kind, namespaced, list(verbs)
        self.short, self.categories, self.subresources = list(short), list(categories), list(subresources)

    @property
    def api_version(self):
        return self.version if not self.group else "%s/%s" % (self.group, self.version)

    @property
    def group_resource(self):
        # "pods" or "jobs.batch": how error messages name a resource.
        return self.plural if not self.group else "%s.%s" % (self.plural, self.group)

    @property
    def kind_group(self):
        # "Pod" or "Job.batch": how validation errors name a kind.
        return self.kind if not self.group else "%s.%s" % (self.kind, self.group)


ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
RESOURCES = [
    Resource("", "v1", "namespaces", "namespace", "Namespace", False,
             ["create", "delete", "get", "list", "patch", "update", "watch"], short=["ns"],
             subresources=[("finalize", "Namespace", ["update"]),
                           ("status", "Namespace", ["get", "patch", "update"])]),
    Resource("", "v1", "nodes", "node", "Node", False, ALL_VERBS, short=["no"],
             subresources=[("proxy", "NodeProxyOptions", ["create", "delete", "get", "patch", "update"]),
                           ("status", "Node", ["get", "patch", "update"])]),
    Resource("", "v1", "pods", "pod", "Pod", True, ALL_VERBS, short=["po"], categories=["all"],
             subresources=[("exec", "PodExecOptions", ["create", "get"]),
                           ("log", "Pod", ["get"]),
                           ("status", "Pod", ["get", "patch", "update"])]),
    Resource("batch", "v1", "jobs", "job", "Job", True, ALL_VERBS, categories=["all"],
             subresources=[("status", "Job", ["get", "patch", "update"])]),
]
RES_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
RES_BY_PLURAL = {r.plural: r for r in RESOURCES}

# Field selectors each resource supports (the rest are rejected, as the real server does).
FIELD_SELECTORS = {
    "pods": ["metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
             "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
             "status.phase", "status.podIP", "status.nominatedNodeName"],
    "nodes": ["metadata.name", "spec.unschedulable"],
    "namespaces": ["metadata.name", "status.phase"],
    "jobs": ["metadata.name", "metadata.namespace", "status.successful"],
}


# --------------------------------------------------------------------------------------
# Label and field selectors
# --------------------------------------------------------------------------------------

def split_selector(s):
    """Split on commas that are not inside parentheses ("a in (x,y),b")."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(s):
    """Returns a predicate over a labels dict.  Supports =, ==, !=, in, notin, key, !key."""
    reqs = []
    for term in split_selector(s or ""):
        m = re.fullmatch(r"([A-Za-z0-9./_-]+)\s+(in|notin)\s+\((.*)\)", term)
        if m:
            key, op, vals = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((key, op, vals))
            continue
        m = re.fullmatch(r"!\s*([A-Za-z0-9./_-]+)", term)
        if m:
            reqs.append((m.group(1), "!exists", None))
            continue
        m = re.fullmatch(r"([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)", term)
        if m:
            reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
            continue
        m = re.fullmatch(r"([A-Za-z0-9./_-]+)", term)
        if m:
            reqs.append((m.group(1), "exists", None))
            continue
        raise ApiError(400, "BadRequest", "unable to parse requirement: found '%s', expected: identifier" % term)

    def match(labels):
        labels = labels or {}
        for key, op, val in reqs:
            has, v = key in labels, labels.get(key)
            if op == "=" and v != val:
                return False
            if op == "!=" and has and v == val:
                return False
            if op == "in" and (not has or v not in val):
                return False
            if op == "notin" and has and v in val:
                return False
            if op == "exists" and not has:
                return False
            if op == "!exists" and has:
                return False
        return True
    return match


def field_value(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return ""
        cur = cur[part]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(s, res, label_selector):
    reqs = []
    for term in split_selector(s or ""):
        m = re.fullmatch(r"([A-Za-z0-9._-]+)\s*(==|!=|=)\s*(.*)", term)
        if not m:
            raise ApiError(400, "BadRequest", "invalid selector: '%s'; can't understand '%s'" % (s, term))
        field, op, val = m.group(1), m.group(2), m.group(3)
        if field not in FIELD_SELECTORS.get(res.plural, []):
            raise ApiError(400, "BadRequest",
                           "field label not supported: %s" % field)
        reqs.append((field, op != "!=", val))
    return lambda obj: all((field_value(obj, f) == v) == eq for f, eq, v in reqs)


# --------------------------------------------------------------------------------------
# The object store (stands in for etcd), with a watch event log.
# --------------------------------------------------------------------------------------

class Store:
    def __init__(self):
        self.cond = threading.Condition()
        self.objs = {}        # (plural, namespace or "", name) -> object
        self.rv = 1000        # global resourceVersion counter
        self.events = []      # (rv, plural, type, object) for watches
        self.stopping = False

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def get(self, plural, ns, name):
        with self.cond:
            o = self.objs.get((plural, ns or "", name))
            return copy.deepcopy(o) if o else None

    def list(self, plural, ns=None):
        with self.cond:
            out = [copy.deepcopy(o) for (p, n, _), o in self.objs.items() if p == plural and (ns is None or n == ns)]
        out.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out

    def put(self, plural, obj, etype="MODIFIED", keep_rv=False):
        """Stores obj (bumping its resourceVersion) and records a watch event."""
        with self.cond:
            if not keep_rv:
                obj["metadata"]["resourceVersion"] = self.next_rv()
            key = (plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            self.objs[key] = copy.deepcopy(obj)
            self.events.append((int(obj["metadata"]["resourceVersion"]), plural, etype, copy.deepcopy(obj)))
            self.cond.notify_all()
            return copy.deepcopy(obj)

    def remove(self, plural, ns, name):
        with self.cond:
            obj = self.objs.pop((plural, ns or "", name), None)
            if obj is not None:
                obj["metadata"]["resourceVersion"] = self.next_rv()
                self.events.append((int(obj["metadata"]["resourceVersion"]), plural, "DELETED", copy.deepcopy(obj)))
                self.cond.notify_all()
            return obj


# --------------------------------------------------------------------------------------
# The cluster: fixtures, defaulting, the Job controller, scheduler and kubelet stand-ins.
# --------------------------------------------------------------------------------------

class Cluster:
    def __init__(self, fixtures, pod_start_delay=0.0):
        self.fixtures = fixtures
        self.pod_start_delay = pod_start_delay
        self.store = Store()
        self.ip_lock = threading.Lock()
        self.used_ips = set()
        max_rv = 0
        for fname, plural in (("namespaces.json", "namespaces"), ("nodes.json", "nodes"), ("pods.json", "pods")):
            with open(os.path.join(fixtures, fname)) as f:
                lst = json.load(f)
            res = RES_BY_PLURAL[plural]
            for item in lst["items"]:
                item.setdefault("kind", res.kind)
                item.setdefault("apiVersion", res.api_version)
                self.store.put(plural, item, "ADDED", keep_rv=True)
                max_rv = max(max_rv, int(item["metadata"].get("resourceVersion", "0")))
                if plural == "pods":
                    self.used_ips.add(item.get("status", {}).get("podIP"))
        self.store.rv = max(self.store.rv, max_rv + 1000)

    # ---- helpers -----------------------------------------------------------------

    def node(self, name):
        return self.store.get("nodes", "", name) if name else None

    def node_internal_ip(self, node):
        for a in node.get("status", {}).get("addresses", []):
            if a.get("type") == "InternalIP":
                return a["address"]
        return ""

    def allocate_pod_ip(self, node):
        """Next free address in the node's podCIDR (what the CNI plugin would hand out)."""
        cidr = node.get("spec", {}).get("podCIDR", "10.244.9.0/24")
        base = cidr.split("/")[0].rsplit(".", 1)[0]
        with self.ip_lock:
            for host in range(2, 255):
                ip = "%s.%d" % (base, host)
                if ip not in self.used_ips:
                    self.used_ips.add(ip)
                    return ip
        return base + ".254"

    # ---- defaulting (what the API server's defaulters and admission plugins add) ----

    @staticmethod
    def default_container(c):
        image = c.get("image", "")
        last = image.rsplit("/", 1)[-1]
        untagged = ":" not in last and "@" not in last
        if "imagePullPolicy" not in c:
            c["imagePullPolicy"] = "Always" if (untagged or last.endswith(":latest")) else "IfNotPresent"
        c.setdefault("resources", {})
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        for p in c.get("ports", []):
            p.setdefault("protocol", "TCP")

    def default_pod_spec(self, spec):
        """SetDefaults_PodSpec / SetDefaults_Container (also applied to pod templates)."""
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            self.default_container(c)
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("securityContext", {})
        spec.setdefault("schedulerName", "default-scheduler")

    def admit_pod(self, pod):
        """ServiceAccount, DefaultTolerationSeconds and Priority admission for a new Pod."""
        spec = pod["spec"]
        self.default_pod_spec(spec)
        spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
        spec["serviceAccount"] = spec["serviceAccountName"]
        if spec.get("automountServiceAccountToken", True):
            vname = "kube-api-access-" + rand_suffix()
            spec.setdefault("volumes", []).append({
                "name": vname,
                "projected": {"sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace",
                                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                ], "defaultMode": 420}})
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                c.setdefault("volumeMounts", []).append(
                    {"name": vname, "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
        tols = spec.setdefault("tolerations", [])
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            if not any(t.get("key") == key and t.get("effect") in ("NoExecute", None) for t in tols) and \
                    not any(not t.get("key") and t.get("operator") == "Exists" for t in tols):
                tols.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
        spec.setdefault("priority", 0)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")

    @staticmethod
    def qos_class(spec):
        reqs = lims = 0
        guaranteed = True
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            r, l = c.get("resources", {}).get("requests", {}), c.get("resources", {}).get("limits", {})
            reqs += len(r)
            lims += len(l)
            for k in ("cpu", "memory"):
                if k not in l or r.get(k, l.get(k)) != l.get(k):
                    guaranteed = False
        if reqs == 0 and lims == 0:
            return "BestEffort"
        return "Guaranteed" if guaranteed else "Burstable"

    # ---- the scheduler -------------------------------------------------------------

    @staticmethod
    def tolerates(tolerations, taint):
        for t in tolerations or []:
            if t.get("effect") and t.get("effect") != taint.get("effect"):
                continue
            if not t.get("key") and t.get("operator") == "Exists":
                return True
            if t.get("key") != taint.get("key"):
                continue
            if t.get("operator") == "Exists" or t.get("value", "") == taint.get("value", ""):
                return True
        return False

    @staticmethod
    def affinity_ok(spec, node):
        terms = (spec.get("affinity", {}).get("nodeAffinity", {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms"))
        if not terms:
            return True
        labels = node["metadata"].get("labels", {})

        def expr_ok(e, value_of):
            v, op, vals = value_of(e["key"]), e.get("operator"), e.get("values", [])
            return {"In": v is not None and v in vals, "NotIn": v is None or v not in vals,
                    "Exists": v is not None, "DoesNotExist": v is None}.get(op, False)
        for term in terms:  # terms are ORed, expressions in a term ANDed
            ok = all(expr_ok(e, labels.get) for e in term.get("matchExpressions", []))
            ok = ok and all(expr_ok(e, lambda k: node["metadata"]["name"] if k == "metadata.name" else None)
                            for e in term.get("matchFields", []))
            if ok:
                return True
        return False

    def schedule(self, spec):
        """Returns (nodeName or None, message).  nodeName in the spec bypasses the scheduler."""
        if spec.get("nodeName"):
            return spec["nodeName"], ""
        nodes = self.store.list("nodes")
        fit, why = [], {}
        for n in nodes:
            labels = n["metadata"].get("labels", {})
            if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()) or not self.affinity_ok(spec, n):
                why.setdefault("node(s) didn't match Pod's node affinity/selector", []).append(n)
                continue
            untolerated = [t for t in n.get("spec", {}).get("taints", [])
                           if t.get("effect") in ("NoSchedule", "NoExecute") and not self.tolerates(spec.get("tolerations"), t)]
            if untolerated:
                t = untolerated[0]
                why.setdefault("node(s) had untolerated taint {%s: %s}" % (t["key"], t.get("value", "")), []).append(n)
                continue
            if n.get("spec", {}).get("unschedulable"):
                why.setdefault("node(s) were unschedulable", []).append(n)
                continue
            fit.append(n)
        if fit:
            load = {n["metadata"]["name"]: 0 for n in fit}
            for p in self.store.list("pods"):
                if p["spec"].get("nodeName") in load:
                    load[p["spec"]["nodeName"]] += 1
            return min(fit, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))["metadata"]["name"], ""
        reasons = ", ".join("%d %s" % (len(v), k) for k, v in sorted(why.items()))
        return None, ("0/%d nodes are available: %s. preemption: 0/%d nodes are available: %d Preemption is not "
                      "helpful for scheduling." % (len(nodes), reasons, len(nodes), len(nodes)))

    # ---- the kubelet: pod status ---------------------------------------------------

    @staticmethod
    def full_image(image):
        """How containerd reports an image in status: fully qualified, with a tag."""
        first = image.split("/")[0]
        if "/" not in image:
            name = "docker.io/library/" + image
        elif "." not in first and ":" not in first and first != "localhost":
            name = "docker.io/" + image
        else:
            name = image
        last = name.rsplit("/", 1)[-1]
        if ":" not in last and "@" not in last:
            name += ":latest"
        return name

    def container_status(self, c, started_at, running):
        img = self.full_image(c.get("image", ""))
        repo = img.split("@")[0].rsplit(":", 1)[0]
        st = {"name": c["name"]}
        if running:
            st["state"] = {"running": {"startedAt": started_at}}
        else:
            st["state"] = {"waiting": {"reason": "ContainerCreating"}}
        st["lastState"] = {}
        st["ready"] = running
        st["restartCount"] = 0
        st["image"] = img
        if running:
            # Synthetic digest and container ID (64 hex digits, as containerd reports them).
            st["imageID"] = "%s@sha256:%s" % (repo, hashlib.sha256(img.encode()).hexdigest())
            st["containerID"] = "containerd://" + os.urandom(32).hex()
        else:
            st["imageID"] = ""
        st["started"] = running
        return st

    def pod_status(self, pod, node, state):
        """state: "Running", "Starting" (ContainerCreating), "Unschedulable" or "Unassigned"."""
        t = now_rfc3339()
        spec = pod["spec"]
        qos = self.qos_class(spec)
        if state == "Unassigned":
            return {"phase": "Pending", "qosClass": qos}
        if state == "Unschedulable":
            return {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "lastProbeTime": None, "lastTransitionTime": t,
                 "reason": "Unschedulable", "message": pod["_schedmsg"]}], "qosClass": qos}
        running = state == "Running"
        host_ip = self.node_internal_ip(node)
        tf = "True" if running else "False"

        def cond(typ, status, extra=None):
            c = {"type": typ, "status": status, "lastProbeTime": None, "lastTransitionTime": t}
            c.update(extra or {})
            return c
        names = "[%s]" % " ".join(c["name"] for c in spec.get("containers", []))
        not_ready = {} if running else {"reason": "ContainersNotReady", "message": "containers with unready status: " + names}
        st = {"phase": "Running" if running else "Pending",
              "conditions": [cond("PodReadyToStartContainers", tf), cond("Initialized", "True"),
                             cond("Ready", tf, not_ready), cond("ContainersReady", tf, not_ready),
                             cond("PodScheduled", "True")],
              "hostIP": host_ip, "hostIPs": [{"ip": host_ip}]}
        if running:
            ip = host_ip if spec.get("hostNetwork") else pod.get("status", {}).get("podIP") or self.allocate_pod_ip(node)
            st["podIP"], st["podIPs"] = ip, [{"ip": ip}]
        st["startTime"] = pod.get("status", {}).get("startTime", t)
        st["containerStatuses"] = [self.container_status(c, t, running) for c in spec.get("containers", [])]
        st["qosClass"] = qos
        return st

    def start_pod(self, pod):
        """Schedules the pod and gives it the status a kubelet would report."""
        node_name, msg = self.schedule(pod["spec"])
        node = self.node(node_name)
        if node_name is None:
            pod["_schedmsg"] = msg
            pod["status"] = self.pod_status(pod, None, "Unschedulable")
            del pod["_schedmsg"]
            return
        pod["spec"]["nodeName"] = node_name
        if node is None:  # bound to a node that has no kubelet: stays Pending forever
            pod["status"] = self.pod_status(pod, None, "Unassigned")
            return
        if self.pod_start_delay > 0:
            pod["status"] = self.pod_status(pod, node, "Starting")
            ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]

            def later():
                p = self.store.get("pods", ns, name)
                if p and not p["metadata"].get("deletionTimestamp"):
                    p["status"] = self.pod_status(p, node, "Running")
                    self.store.put("pods", p)
                    for ref in p["metadata"].get("ownerReferences", []):  # the Job counts it as ready
                        job = self.store.get("jobs", ns, ref["name"]) if ref.get("kind") == "Job" else None
                        if job and job["metadata"]["uid"] == ref.get("uid"):
                            job["status"]["ready"] = job["status"].get("ready", 0) + 1
                            self.store.put("jobs", job)
            threading.Timer(self.pod_start_delay, later).start()
        else:
            pod["status"] = self.pod_status(pod, node, "Running")

    # ---- create ----------------------------------------------------------------------

    def new_meta(self, meta, ns, res):
        meta = copy.deepcopy(meta or {})
        if res.namespaced:
            meta["namespace"] = ns
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        return meta

    def create(self, res, ns, body, dry_run):
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/cbor")
        if body.get("apiVersion") not in (None, res.api_version) or body.get("kind") not in (None, res.kind):
            raise ApiError(400, "BadRequest", "the API version in the data (%s) does not match the expected API version (%s)"
                           % (body.get("apiVersion"), res.api_version))
        meta = body.get("metadata") or {}
        if res.namespaced and meta.get("namespace") not in (None, "", ns):
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            name = meta["generateName"] + rand_suffix()
        if not name:
            raise invalid(res, "", [("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")])
        if res.namespaced and not self.store.get("namespaces", "", ns):
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns, {"name": ns, "kind": "namespaces"})
        if self.store.get(res.plural, ns if res.namespaced else "", name):
            raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (res.group_resource, name),
                           {"name": name, "group": res.group, "kind": res.plural} if res.group else {"name": name, "kind": res.plural})
        obj = {"kind": res.kind, "apiVersion": res.api_version}
        obj.update({k: copy.deepcopy(v) for k, v in body.items() if k not in ("kind", "apiVersion", "metadata", "status")})
        obj["metadata"] = self.new_meta(meta, ns, res)
        obj["metadata"]["name"] = name
        return getattr(self, "create_" + res.plural)(obj, dry_run)

    def create_namespaces(self, obj, dry_run):
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
        return obj if dry_run else self.store.put("namespaces", obj, "ADDED")

    def create_nodes(self, obj, dry_run):
        obj.setdefault("spec", {})
        obj["status"] = {}
        return obj if dry_run else self.store.put("nodes", obj, "ADDED")

    def create_pods(self, obj, dry_run):
        if not obj.get("spec", {}).get("containers"):
            raise invalid(RES_BY_PLURAL["pods"], obj["metadata"]["name"],
                          [("FieldValueRequired", "spec.containers", "Required value")])
        self.admit_pod(obj)
        if dry_run:
            obj["status"] = {"phase": "Pending", "qosClass": self.qos_class(obj["spec"])}
            return obj
        self.start_pod(obj)
        return self.store.put("pods", obj, "ADDED")

    def create_jobs(self, job, dry_run):
        """batch/v1 Job: API-server defaulting (pkg/registry/batch/job/strategy.go and
        pkg/apis/batch/v1/defaults.go), then the Job controller creates the pods."""
        name, uid = job["metadata"]["name"], job["metadata"]["uid"]
        spec = job.setdefault("spec", {})
        tmpl = spec.setdefault("template", {})
        tspec = tmpl.setdefault("spec", {})
        errs = []
        if not tspec.get("containers"):
            errs.append(("FieldValueRequired", "spec.template.spec.containers", "Required value"))
        if tspec.get("restartPolicy") not in ("Never", "OnFailure"):
            if tspec.get("restartPolicy"):
                errs.append(("FieldValueNotSupported", "spec.template.spec.restartPolicy",
                             'Unsupported value: "%s": supported values: "OnFailure", "Never"' % tspec["restartPolicy"]))
            else:
                errs.append(("FieldValueRequired", "spec.template.spec.restartPolicy",
                             'Required value: valid values: "OnFailure", "Never"'))
        if errs:
            raise invalid(RES_BY_PLURAL["jobs"], name, errs)
        job_labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                      "controller-uid": uid, "job-name": name}
        tmeta = tmpl.setdefault("metadata", {})
        tmeta["creationTimestamp"] = None
        tmeta.setdefault("labels", {}).update(job_labels)
        if not job["metadata"].get("labels"):
            job["metadata"]["labels"] = dict(tmeta["labels"])
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        self.default_pod_spec(tspec)
        job["metadata"]["generation"] = 1
        job["status"] = {}
        if dry_run:
            return job
        created = self.store.put("jobs", job, "ADDED")
        if not spec["suspend"]:
            self.run_job_controller(created)
        return created

    def run_job_controller(self, job):
        """Creates the Job's pods (as pkg/controller/job does) and updates the Job status."""
        spec, meta = job["spec"], job["metadata"]
        count = min(spec.get("parallelism", 1), spec.get("completions", 1) or spec.get("parallelism", 1))
        for _ in range(count):
            tmpl = copy.deepcopy(spec["template"])
            pmeta = copy.deepcopy(tmpl.get("metadata", {}))
            pmeta.pop("creationTimestamp", None)
            pmeta["generateName"] = meta["name"] + "-"
            pmeta["name"] = meta["name"] + "-" + rand_suffix()
            pmeta["namespace"] = meta["namespace"]
            pmeta["uid"] = str(uuid.uuid4())
            pmeta["creationTimestamp"] = now_rfc3339()
            pmeta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
                                         "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}]
            pmeta["finalizers"] = ["batch.kubernetes.io/job-tracking"]
            pod = {"kind": "Pod", "apiVersion": "v1", "metadata": pmeta, "spec": tmpl["spec"]}
            self.admit_pod(pod)
            self.start_pod(pod)
            self.store.put("pods", pod, "ADDED")
        job = self.store.get("jobs", meta["namespace"], meta["name"])
        job["status"] = {"active": count, "ready": count if self.pod_start_delay <= 0 else 0,
                         "startTime": now_rfc3339(), "terminating": 0, "uncountedTerminatedPods": {}}
        self.store.put("jobs", job)

    # ---- delete ----------------------------------------------------------------------

    def delete(self, res, ns, name, opts, dry_run):
        key_ns = ns if res.namespaced else ""
        obj = self.store.get(res.plural, key_ns, name)
        if obj is None:
            raise not_found(res, name)
        policy = (opts or {}).get("propagationPolicy")
        if res.plural == "pods":
            # Graceful deletion: the API returns the pod with deletionTimestamp set; the
            # kubelet stops it and it disappears a moment later.
            grace = (opts or {}).get("gracePeriodSeconds", obj["spec"].get("terminationGracePeriodSeconds", 30))
            if dry_run:
                return obj
            if not obj["spec"].get("nodeName") or grace == 0:  # unbound or forced: gone at once
                self.store.remove("pods", key_ns, name)
                return obj
            obj["metadata"]["deletionTimestamp"] = now_rfc3339()
            obj["metadata"]["deletionGracePeriodSeconds"] = grace
            obj = self.store.put("pods", obj)
            threading.Timer(POD_TERMINATION_DELAY, self.store.remove, ("pods", key_ns, name)).start()
            return obj
        if dry_run:
            return obj
        if res.plural == "namespaces":
            obj["metadata"]["deletionTimestamp"] = now_rfc3339()
            obj["status"]["phase"] = "Terminating"
            obj = self.store.put("namespaces", obj)

            def finish():
                for r in RESOURCES:
                    if r.namespaced:
                        for o in self.store.list(r.plural, name):
                            self.store.remove(r.plural, name, o["metadata"]["name"])
                self.store.remove("namespaces", "", name)
            threading.Timer(GC_DELAY, finish).start()
            return obj
        if res.plural == "jobs":
            # batch/v1 Jobs default to orphaning their pods when no policy is given.
            policy = policy or "Orphan"
            uid = obj["metadata"]["uid"]
            pods = [p for p in self.store.list("pods", ns)
                    if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences", []))]
            if policy == "Orphan":
                for p in pods:
                    p["metadata"]["ownerReferences"] = [o for o in p["metadata"]["ownerReferences"] if o.get("uid") != uid]
                    self.store.put("pods", p)
            else:
                def gc():
                    for p in pods:
                        try:
                            self.delete(RES_BY_PLURAL["pods"], ns, p["metadata"]["name"], {}, False)
                        except ApiError:
                            pass
                threading.Timer(GC_DELAY, gc).start()
        self.store.remove(res.plural, key_ns, name)
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
              "details": {"name": name, "kind": res.plural, "uid": obj["metadata"]["uid"]}}
        if res.group:
            st["details"] = {"name": name, "group": res.group, "kind": res.plural, "uid": obj["metadata"]["uid"]}
        return st


def not_found(res, name):
    details = {"name": name, "kind": res.plural}
    if res.group:
        details = {"name": name, "group": res.group, "kind": res.plural}
    return ApiError(404, "NotFound", '%s "%s" not found' % (res.group_resource, name), details)


def invalid(res, name, causes):
    """422 Invalid, as field validation errors are reported."""
    msg = "; ".join("%s: %s" % (f, m) for _, f, m in causes)
    if len(causes) > 1:
        msg = "[" + ", ".join("%s: %s" % (f, m) for _, f, m in causes) + "]"
    details = {"name": name, "kind": res.kind,
               "causes": [{"reason": r, "message": m, "field": f} for r, f, m in causes]}
    if res.group:
        details = {"name": name, "group": res.group, "kind": res.kind, "causes": details["causes"]}
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (res.kind_group, name, msg), details)


# --------------------------------------------------------------------------------------
# Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902); strategic merge patch and
# apply patches are treated as merge patches (good enough for labels/annotations/spec
# scalars, which is what kubectl label/annotate/patch send).
# --------------------------------------------------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k == "$patch" or k.startswith("$setElementOrder") or k.startswith("$deleteFromPrimitiveList") or k == "$retainKeys":
            continue
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(doc, ops):
    doc = copy.deepcopy(doc)

    def walk(path):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
        cur = doc
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur, parts[-1]
    for op in ops:
        parent, key = walk(op["path"])
        kind = op["op"]
        if isinstance(parent, list):
            idx = len(parent) if key == "-" else int(key)
            if kind == "add":
                parent.insert(idx, op["value"])
            elif kind == "remove":
                parent.pop(idx)
            elif kind == "replace":
                parent[idx] = op["value"]
            elif kind == "test" and parent[idx] != op["value"]:
                raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request")
        else:
            if kind in ("add", "replace"):
                parent[key] = op["value"]
            elif kind == "remove":
                parent.pop(key)
            elif kind == "test" and parent.get(key) != op["value"]:
                raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request")
    return doc


# --------------------------------------------------------------------------------------
# Tables (what `kubectl get` prints without -o): pkg/printers/internalversion/printers.go
# --------------------------------------------------------------------------------------

NAME_COL = {"name": "Name", "type": "string", "format": "name", "priority": 0,
            "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"}
AGE_COL = {"name": "Age", "type": "string", "format": "", "priority": 0,
           "description": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}


def col(name, desc, priority=0, typ="string"):
    return {"name": name, "type": typ, "format": "", "description": desc, "priority": priority}


def table_columns(plural):
    if plural == "pods":
        return [NAME_COL, col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
                col("Status", "The aggregate status of the containers in this pod."),
                col("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
                AGE_COL, col("IP", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
                col("Node", "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.", 1),
                col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.", 1),
                col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1)]
    if plural == "nodes":
        return [NAME_COL, col("Status", "The status of the node"), col("Roles", "The roles of the node"), AGE_COL,
                col("Version", "Kubelet Version reported by the node."),
                col("Internal-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
                col("External-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
                col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
                col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
                col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1)]
    if plural == "namespaces":
        return [NAME_COL, col("Status", "The status of the namespace"), AGE_COL]
    if plural == "jobs":
        return [NAME_COL, col("Status", "Status of the job."),
                col("Completions", "The completion status of the job as a ratio of succeeded/completions."),
                col("Duration", "Time required to complete the job."), AGE_COL,
                col("Containers", "Names of each container in the template.", 1),
                col("Images", "Images referenced by each container in the template.", 1),
                col("Selector", "Selector is a label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors", 1)]
    return [NAME_COL, AGE_COL]


def table_cells(plural, o):
    m, spec, st = o["metadata"], o.get("spec", {}), o.get("status", {})
    if plural == "pods":
        cs = st.get("containerStatuses", [])
        ready = sum(1 for c in cs if c.get("ready"))
        reason = st.get("reason") or st.get("phase", "Unknown")
        for c in cs:
            w = c.get("state", {}).get("waiting")
            if w and w.get("reason"):
                reason = w["reason"]
        if m.get("deletionTimestamp"):
            reason = "Terminating"
        restarts = sum(c.get("restartCount", 0) for c in cs)
        return [m["name"], "%d/%d" % (ready, len(spec.get("containers", []))), reason, str(restarts), age(o),
                st.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
                st.get("nominatedNodeName") or "<none>", "<none>"]
    if plural == "nodes":
        ready = [c for c in st.get("conditions", []) if c.get("type") == "Ready"]
        status = "Ready" if ready and ready[0].get("status") == "True" else ("NotReady" if ready else "Unknown")
        if spec.get("unschedulable"):
            status += ",SchedulingDisabled"
        roles = sorted(k.split("/", 1)[1] for k in m.get("labels", {}) if k.startswith("node-role.kubernetes.io/"))
        if m.get("labels", {}).get("kubernetes.io/role"):
            roles.append(m["labels"]["kubernetes.io/role"])
        addr = {a["type"]: a["address"] for a in st.get("addresses", [])}
        info = st.get("nodeInfo", {})
        return [m["name"], status, ",".join(roles) or "<none>", age(o), info.get("kubeletVersion", ""),
                addr.get("InternalIP", "<none>"), addr.get("ExternalIP", "<none>"), info.get("osImage", "<unknown>"),
                info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion", "<unknown>")]
    if plural == "namespaces":
        return [m["name"], st.get("phase", ""), age(o)]
    if plural == "jobs":
        tcs = spec.get("template", {}).get("spec", {}).get("containers", [])
        sel = ",".join("%s=%s" % kv for kv in spec.get("selector", {}).get("matchLabels", {}).items())
        dur = ""
        if st.get("startTime"):
            dur = human_duration((datetime.datetime.now(datetime.timezone.utc) - parse_time(st["startTime"])).total_seconds())
        status = "Suspended" if spec.get("suspend") else ("Running" if st.get("active") else "Pending")
        return [m["name"], status, "%d/%d" % (st.get("succeeded", 0), spec.get("completions", 1)), dur, age(o),
                ",".join(c["name"] for c in tcs), ",".join(c.get("image", "") for c in tcs), sel]
    return [m["name"], age(o)]


def to_table(res, objs, rv, include_object):
    rows = []
    for o in objs:
        row = {"cells": table_cells(res.plural, o)}
        if include_object == "Object":
            row["object"] = o
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
            "columnDefinitions": table_columns(res.plural), "rows": rows}


# --------------------------------------------------------------------------------------
# Discovery and OpenAPI documents
# --------------------------------------------------------------------------------------

def aggregated_group(group, version):
    resources = []
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        d = {"resource": r.plural, "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
             "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular, "verbs": r.verbs}
        if r.short:
            d["shortNames"] = r.short
        if r.categories:
            d["categories"] = r.categories
        if r.subresources:
            d["subresources"] = [{"subresource": s, "responseKind": {"group": "", "version": "v1", "kind": k}
                                  if k.startswith(("Pod", "Node", "Namespace")) else {"group": r.group, "version": r.version, "kind": k},
                                  "verbs": v} for s, k, v in r.subresources]
        resources.append(d)
    meta = {"creationTimestamp": None}
    if group:
        meta = {"name": group, "creationTimestamp": None}
    return {"metadata": meta, "versions": [{"version": version, "resources": resources, "freshness": "Current"}]}


def aggregated_list(legacy):
    items = [aggregated_group("", "v1")] if legacy else [aggregated_group("batch", "v1")]
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


def api_resource_list(group, version):
    out = []
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        d = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind, "verbs": r.verbs}
        if r.short:
            d["shortNames"] = r.short
        if r.categories:
            d["categories"] = r.categories
        out.append(d)
        for s, k, v in r.subresources:
            out.append({"name": "%s/%s" % (r.plural, s), "singularName": "", "namespaced": r.namespaced, "kind": k, "verbs": v})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group + "/" + version if group else version,
            "resources": out}


def openapi_v3_doc(group, version):
    """A minimal OpenAPI v3 document for one group-version.  kubectl (cli-runtime
    query_param_verifier_v3.go) looks for a PATCH operation carrying
    x-kubernetes-group-version-kind of the object's kind with a "fieldValidation"
    parameter; finding it, kubectl leaves validation to the server (fieldValidation=Strict)."""
    paths = {}
    params = [{"name": n, "in": "query", "description": n, "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation")]
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        base = "/api/v1" if not group else "/apis/%s/%s" % (group, version)
        p = "%s/%s%s/{name}" % (base, "namespaces/{namespace}/" if r.namespaced else "", r.plural)
        gvk = {"group": r.group, "kind": r.kind, "version": r.version}
        paths[p] = {"patch": {"tags": [r.plural], "description": "partially update the specified " + r.kind,
                              "operationId": "patch" + r.kind, "parameters": params,
                              "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
                              "responses": {"200": {"description": "OK"}}},
                    "post": {"operationId": "create" + r.kind, "parameters": params,
                             "x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk,
                             "responses": {"201": {"description": "Created"}}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
            "paths": paths, "components": {"schemas": {}}}


def openapi_v2_protobuf():
    """An OpenAPI v2 gnostic Document (swagger="2.0", info{title, version}) in protobuf
    wire format, with no paths and no definitions.  kubectl always fetches /openapi/v2
    before `create -f`; with no definitions its client-side schema check passes."""
    def field(num, data):
        return bytes([(num << 3) | 2, len(data)]) + data
    info = field(1, b"Kubernetes") + field(2, VERSION_INFO["gitVersion"].encode())
    return field(1, b"2.0") + field(2, info)


# --------------------------------------------------------------------------------------
# WebSocket (RFC 6455) for pods/exec, sub-protocol v5.channel.k8s.io
# --------------------------------------------------------------------------------------

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
# Channels of the Kubernetes remote-command protocol (k8s.io/apimachinery/pkg/util/remotecommand):
# the first byte of every binary message names the stream.
CH_STDIN, CH_STDOUT, CH_STDERR, CH_ERROR, CH_RESIZE, CH_CLOSE = 0, 1, 2, 3, 4, 255


class WebSocket:
    def __init__(self, rfile, wfile):
        self.rfile, self.wfile = rfile, wfile
        self.wlock = threading.Lock()
        self.close_sent = False
        self.close_received = threading.Event()

    def send_frame(self, opcode, payload):
        # RFC 6455 section 5.2: FIN=1, opcode; server-to-client frames are not masked
        # (section 5.1); 7-bit length, or 126 + 16-bit, or 127 + 64-bit length.
        n = len(payload)
        hdr = bytearray([0x80 | opcode])
        if n < 126:
            hdr.append(n)
        elif n < 65536:
            hdr.append(126)
            hdr += struct.pack("!H", n)
        else:
            hdr.append(127)
            hdr += struct.pack("!Q", n)
        with self.wlock:
            if self.close_sent:
                return
            if opcode == OP_CLOSE:
                self.close_sent = True
            self.wfile.write(bytes(hdr) + payload)
            self.wfile.flush()

    def send_channel(self, channel, data, chunk=32 * 1024):
        for i in range(0, max(len(data), 1), chunk):
            self.send_frame(OP_BINARY, bytes([channel]) + data[i:i + chunk])

    def read_exact(self, n):
        buf = b""
        while len(buf) < n:
            part = self.rfile.read(n - len(buf))
            if not part:
                raise EOFError
            buf += part
        return buf

    def read_frame(self):
        # RFC 6455 section 5.2; client-to-server frames are always masked (section 5.3).
        b0, b1 = self.read_exact(2)
        opcode, masked, n = b0 & 0x0F, b1 & 0x80, b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(8))[0]
        key = self.read_exact(4) if masked else b"\0\0\0\0"
        data = self.read_exact(n)
        if masked:
            data = bytes(c ^ key[i % 4] for i, c in enumerate(data))
        return opcode, data

    def reader(self, on_data):
        """Reads client frames until close/EOF: answers pings (section 5.5.2/5.5.3), echoes
        a close (section 5.5.1), hands data messages (stdin, resize, v5 close signal) to on_data."""
        try:
            while True:
                opcode, data = self.read_frame()
                if opcode == OP_PING:
                    self.send_frame(OP_PONG, data)
                elif opcode == OP_CLOSE:
                    self.send_frame(OP_CLOSE, data[:2])
                    break
                elif opcode in (OP_BINARY, OP_TEXT, OP_CONT) and data:
                    on_data(data[0], data[1:])
        except (EOFError, OSError, ValueError):
            pass
        finally:
            self.close_received.set()

    def close(self, code=1000):
        # RFC 6455 section 7.4.1: 1000 = normal closure.  client-go treats a normal closure
        # as EOF on every stream.
        try:
            self.send_frame(OP_CLOSE, struct.pack("!H", code))
        except OSError:
            pass


def exec_status_success():
    # What the kubelet writes on the error channel (pkg/kubelet/cri/streaming/remotecommand/exec.go).
    return {"metadata": {}, "status": "Success"}


def exec_status_exit(cmd, code):
    return {"metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: error executing command [%s], exit code %d"
                       % (" ".join(cmd), code),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def gnu_tar_member(path):
    """GNU tar strips leading slashes from member names (and says so on stderr)."""
    stripped = path.lstrip("/")
    warn = "tar: Removing leading `/' from member names\n" if stripped != path else ""
    return stripped, warn


def make_tar(member, data, mtime):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        ti = tarfile.TarInfo(member)
        ti.size, ti.mode, ti.mtime = len(data), 0o644, int(mtime)
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# Protobuf request bodies (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the magic
# "k8s\0", then a runtime.Unknown {typeMeta=1 {apiVersion=1, kind=2}, raw=2}.  Field numbers
# of Namespace/ObjectMeta are from k8s.io/api/core/v1/generated.proto and
# k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto.
# --------------------------------------------------------------------------------------

def pb_fields(data):
    """Yields (field number, value) of a protobuf message; value is bytes or int."""
    i = 0

    def varint():
        nonlocal i
        shift = result = 0
        while True:
            b = data[i]
            i += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
    while i < len(data):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            yield num, varint()
        elif wt == 2:
            n = varint()
            yield num, data[i:i + n]
            i += n
        elif wt == 1:
            yield num, data[i:i + 8]
            i += 8
        elif wt == 5:
            yield num, data[i:i + 4]
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wt)


def decode_protobuf_namespace(raw):
    try:
        if not raw.startswith(b"k8s\0"):
            return None
        tm, obj = {}, None
        for num, v in pb_fields(raw[4:]):
            if num == 1:
                tm = {n: val.decode() for n, val in pb_fields(v)}
            elif num == 2:
                obj = v
        if tm.get(2) != "Namespace" or obj is None:
            return None
        out = {"apiVersion": tm.get(1, "v1"), "kind": "Namespace", "metadata": {}}
        for num, v in pb_fields(obj):
            if num == 1:  # ObjectMeta
                meta = out["metadata"]
                for mnum, mv in pb_fields(v):
                    if mnum in (1, 2) and mv:
                        meta["name" if mnum == 1 else "generateName"] = mv.decode()
                    elif mnum in (11, 12):  # labels / annotations: map entries {key=1, value=2}
                        kv = dict(pb_fields(mv))
                        meta.setdefault("labels" if mnum == 11 else "annotations", {})[
                            kv.get(1, b"").decode()] = kv.get(2, b"").decode()
            elif num == 2:  # NamespaceSpec {finalizers=1}
                out["spec"] = {"finalizers": [f.decode() for n, f in pb_fields(v) if n == 1]}
        return out
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, cluster, request_log):
        super().__init__(addr, Handler)
        self.cluster = cluster
        self.request_log = request_log
        self.log_lock = threading.Lock()

    def log_request_line(self, entry):
        if not self.request_log:
            return
        with self.log_lock:
            with open(self.request_log, "a") as f:
                f.write(json.dumps(entry, separators=(",", ":")) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stderr quiet; the request log has it all
        pass

    # ---- plumbing ----------------------------------------------------------------------

    @property
    def cluster(self):
        return self.server.cluster

    @property
    def store(self):
        return self.server.cluster.store

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def start_response(self, code, ctype, length=None, extra=()):
        # The headers kube-apiserver sends (no Server header).
        self.send_response_only(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", FLOWSCHEMA_UID)
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", PRIORITYLEVEL_UID)
        self.send_header("Date", self.date_time_string())
        for k, v in extra:
            self.send_header(k, v)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def send_json(self, code, obj, ctype="application/json"):
        pretty = self.query.get("pretty", [""])[0] == "true" or \
            self.headers.get("User-Agent", "").lower().startswith(("curl", "wget"))
        body = (json.dumps(obj, indent=2) if pretty else json.dumps(obj, separators=(",", ":"))).encode() + b"\n"
        self.start_response(code, ctype, len(body))
        self.wfile.write(body)

    def send_error_status(self, err):
        self.send_json(err.code, err.status())

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def client_gone(self):
        """True when the client closed its side (polled while a stream is idle)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            return bool(r) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def wants_table(self):
        return "as=Table" in self.headers.get("Accept", "")

    # ---- entry points --------------------------------------------------------------------

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        """Parses and logs the request, routes it, and answers errors as Status objects."""
        url = urlsplit(self.path)
        self.query = parse_qs(url.query, keep_blank_values=True)
        raw = self.read_body()
        protobuf = bool(raw) and self.headers.get("Content-Type", "").startswith("application/vnd.kubernetes.protobuf")
        if protobuf:
            # kubectl's typed clients (`kubectl create namespace`, ...) send protobuf.  Only a
            # Namespace is decoded; anything else gets 415 (client-go does not retry as JSON).
            body = decode_protobuf_namespace(raw)
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None  # e.g. YAML; logged as null
        self.server.log_request_line({"method": method, "path": url.path, "query": self.query, "body": body,
                                      "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")})
        try:
            if protobuf and body is None:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json, application/yaml")
            self.route(method, url.path.rstrip("/") or "/", body)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # an internal error is still answered as a Status
            traceback.print_exc()
            self.send_error_status(ApiError(500, "InternalError", "Internal error occurred: %s" % e,
                                            {"causes": [{"message": str(e)}]}))

    def q(self, name, default=None):
        return self.query.get(name, [default])[0]

    def route(self, method, path, body):
        accept = self.headers.get("Accept", "")
        if method == "GET":
            # /version: version.Info.
            if path == "/version":
                return self.send_json(200, VERSION_INFO)
            # /api and /apis: aggregated discovery (one document with every resource) when
            # asked for by Accept, as a 1.30+ server does; else the legacy lists.
            if path in ("/api", "/apis"):
                if "g=apidiscovery.k8s.io" in accept and ("v=v2;" in accept or "v=v2beta1" in accept):
                    ctype = AGGREGATED_V2 if "v=v2;" in accept else AGGREGATED_V2BETA1
                    doc = aggregated_list(path == "/api")
                    if ctype == AGGREGATED_V2BETA1:
                        doc["apiVersion"] = "apidiscovery.k8s.io/v2beta1"
                    return self.send_json(200, doc, ctype)
                if path == "/api":
                    return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % self.server.server_address[1]}]})
                return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [BATCH_GROUP]})
            if path == "/apis/batch":
                return self.send_json(200, dict(BATCH_GROUP, kind="APIGroup", apiVersion="v1"))
            if path == "/api/v1":
                return self.send_json(200, api_resource_list("", "v1"))
            if path == "/apis/batch/v1":
                return self.send_json(200, api_resource_list("batch", "v1"))
            # /openapi/v3: the index of per-group-version documents, then the documents.
            if path == "/openapi/v3":
                paths = {}
                for gvpath, (g, v) in OPENAPI_V3_GVS.items():
                    h = hashlib.sha512(json.dumps(openapi_v3_doc(g, v), sort_keys=True).encode()).hexdigest().upper()
                    paths[gvpath] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (gvpath, h)}
                return self.send_json(200, {"paths": paths})
            if path.startswith("/openapi/v3/") and path[len("/openapi/v3/"):] in OPENAPI_V3_GVS:
                g, v = OPENAPI_V3_GVS[path[len("/openapi/v3/"):]]
                return self.send_json(200, openapi_v3_doc(g, v))
            # /openapi/v2: protobuf if asked for (kubectl does), else JSON.
            if path == "/openapi/v2":
                if "protobuf" in accept:
                    data = openapi_v2_protobuf()
                    self.start_response(200, OPENAPI_V2_PROTOBUF, len(data))
                    return self.wfile.write(data)
                return self.send_json(200, {"swagger": "2.0", "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
                                            "paths": {}, "definitions": {}})
            if path in ("/healthz", "/livez", "/readyz"):
                self.start_response(200, "text/plain; charset=utf-8", 2)
                return self.wfile.write(b"ok")
        return self.route_resource(method, path, body)

    def route_resource(self, method, path, body):
        m = re.fullmatch(r"/api/v1/(.+)", path) or re.fullmatch(r"/apis/(batch)/(v1)/(.+)", path)
        if not m:
            raise not_found_generic()
        group, version, rest = ("", "v1", m.group(1)) if path.startswith("/api/") else m.groups()
        segs = rest.split("/")
        ns = None
        if segs[0] == "namespaces" and len(segs) >= 3 and (group, version, segs[2]) in RES_BY_PATH:
            ns, segs = segs[1], segs[2:]
        res = RES_BY_PATH.get((group, version, segs[0]))
        if res is None or len(segs) > 3 or (ns is not None and not res.namespaced):
            raise not_found_generic()
        name = segs[1] if len(segs) > 1 else None
        sub = segs[2] if len(segs) > 2 else None
        if res.namespaced and name is not None and ns is None:
            raise not_found_generic()
        if sub and sub not in [s for s, _, _ in res.subresources]:
            raise not_found_generic()
        dry_run = "All" in self.query.get("dryRun", [])

        if name is None:
            if method == "GET":
                return self.watch(res, ns) if self.q("watch") in ("true", "1") else self.list(res, ns)
            if method == "POST":
                if res.namespaced and ns is None:
                    raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
                obj = self.cluster.create(res, ns, body, dry_run)
                return self.send_json(201, obj)
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

        if sub == "log" and method == "GET":
            return self.pod_log(ns, name)
        if sub == "exec" and method in ("GET", "POST"):
            return self.pod_exec(ns, name)
        key_ns = ns if res.namespaced else ""
        if method == "GET" and sub in (None, "status"):
            obj = self.store.get(res.plural, key_ns, name)
            if obj is None:
                raise not_found(res, name)
            if self.wants_table():
                return self.send_json(200, to_table(res, [obj], obj["metadata"]["resourceVersion"], self.q("includeObject")))
            return self.send_json(200, obj)
        if method == "DELETE" and sub is None:
            return self.send_json(200, self.cluster.delete(res, ns, name, body, dry_run))
        if method in ("PUT", "PATCH") and sub in (None, "status"):
            return self.update(res, key_ns, name, sub, method, body, dry_run)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    # ---- list / watch ----------------------------------------------------------------------

    def selectors(self, res):
        lsel = self.q("labelSelector", "")
        return parse_label_selector(lsel), parse_field_selector(self.q("fieldSelector", ""), res, lsel)

    def list(self, res, ns):
        lmatch, fmatch = self.selectors(res)
        with self.store.cond:
            items = [o for o in self.store.list(res.plural, ns)
                     if lmatch(o["metadata"].get("labels")) and fmatch(o)]
            rv = str(self.store.rv)
        if self.wants_table():
            return self.send_json(200, to_table(res, items, rv, self.q("includeObject")))
        for o in items:  # items of a real list carry no kind/apiVersion
            o.pop("kind", None)
            o.pop("apiVersion", None)
        self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                             "metadata": {"resourceVersion": rv}, "items": items})

    def watch(self, res, ns):
        """Streams watch events (one JSON object per chunk) until timeoutSeconds, client
        disconnect or server shutdown.  Without resourceVersion (or "0") it first sends
        ADDED for every existing match, as the real server does."""
        lmatch, fmatch = self.selectors(res)
        timeout = float(self.q("timeoutSeconds") or 1800)
        deadline = time.time() + timeout
        rv_param = self.q("resourceVersion", "")
        table = self.wants_table()
        self.start_response(200, "application/json")

        def send(etype, obj):
            o = to_table(res, [obj], obj["metadata"]["resourceVersion"], self.q("includeObject")) if table else obj
            self.write_chunk(json.dumps({"type": etype, "object": o}, separators=(",", ":")).encode() + b"\n")

        def matches(o):
            return (ns is None or o["metadata"].get("namespace") == ns) and lmatch(o["metadata"].get("labels")) and fmatch(o)
        with self.store.cond:
            if rv_param in ("", "0"):
                cursor = self.store.rv
                initial = [o for o in self.store.list(res.plural, ns) if matches(o)]
            else:
                cursor, initial = int(rv_param), []
        try:
            for o in initial:
                send("ADDED", o)
            while time.time() < deadline and not self.client_gone():
                with self.store.cond:
                    if self.store.stopping:
                        break
                    pending = [(rv, t, o) for rv, p, t, o in self.store.events if rv > cursor and p == res.plural]
                    if not pending:
                        self.store.cond.wait(0.2)
                        continue
                for rv, t, o in pending:
                    cursor = max(cursor, rv)
                    if matches(o):
                        send(t, o)
            self.end_chunks()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ---- update / patch ----------------------------------------------------------------------

    def update(self, res, key_ns, name, sub, method, body, dry_run):
        obj = self.store.get(res.plural, key_ns, name)
        if obj is None:
            raise not_found(res, name)
        if method == "PUT":
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
            rv = (body.get("metadata") or {}).get("resourceVersion")
            if rv and rv != obj["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                               "please apply your changes to the latest version and try again" % (res.group_resource, name),
                               {"name": name, "group": res.group, "kind": res.plural} if res.group else {"name": name, "kind": res.plural})
            new = copy.deepcopy(body)
        else:
            ctype = self.headers.get("Content-Type", "")
            if ctype.startswith("application/json-patch+json"):
                new = json_patch(obj, body or [])
            elif body is None and not ctype.startswith("application/apply-patch"):
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
            else:
                new = merge_patch(obj, body or {})
        # Fields the client cannot change.
        for k in ("uid", "creationTimestamp", "namespace", "name", "generateName", "deletionTimestamp"):
            if k in obj["metadata"]:
                new.setdefault("metadata", {})[k] = obj["metadata"][k]
        new["kind"], new["apiVersion"] = res.kind, res.api_version
        if sub == "status":
            obj["status"] = new.get("status", obj.get("status"))
            new = obj
        elif "status" in obj:
            new["status"] = obj["status"]
        if res.plural == "jobs" and new.get("spec") != obj.get("spec"):
            new["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
        if dry_run:
            return self.send_json(200, new)
        self.send_json(200, self.store.put(res.plural, new))

    # ---- pods/log ------------------------------------------------------------------------------

    def pick_container(self, pod, name):
        spec = pod["spec"]
        names = [c["name"] for c in spec.get("initContainers", []) + spec.get("containers", [])]
        container = self.q("container")
        if not container:
            if len(spec.get("containers", [])) == 1:
                return spec["containers"][0]["name"]
            raise ApiError(400, "BadRequest", "a container name must be specified for pod %s, choose one of: [%s]"
                           % (name, " ".join(c["name"] for c in spec.get("containers", []))))
        if container not in names:
            raise ApiError(400, "BadRequest", "container %s is not valid for pod %s" % (container, name))
        return container

    def pod_gone_or_stopping(self, ns, name, uid):
        p = self.store.get("pods", ns, name)
        return p is None or p["metadata"]["uid"] != uid or bool(p["metadata"].get("deletionTimestamp"))

    def pod_log(self, ns, name):
        """GET pods/NAME/log: the lines of fixtures/logs/<nodeName>.log, one every
        LOG_LINE_DELAY seconds, chunked.  With follow=true the stream stays open until the
        pod is deleted (its container stops), then it ends."""
        pod = self.store.get("pods", ns, name)
        if pod is None:
            raise not_found(RES_BY_PLURAL["pods"], name)
        container = self.pick_container(pod, name)
        for cs in pod.get("status", {}).get("containerStatuses", []):
            w = cs.get("state", {}).get("waiting")
            if cs["name"] == container and w:
                raise ApiError(400, "BadRequest", 'container "%s" in pod "%s" is waiting to start: %s'
                               % (container, name, w.get("reason", "")))
        node = pod["spec"].get("nodeName")
        if not node or pod["status"].get("phase") == "Pending" and not pod["status"].get("containerStatuses"):
            raise ApiError(400, "BadRequest", 'container "%s" in pod "%s" is waiting to start: ContainerCreating' % (container, name))
        try:
            with open(os.path.join(self.cluster.fixtures, "logs", node + ".log"), "rb") as f:
                lines = f.read().splitlines(keepends=True)
        except FileNotFoundError:
            lines = []
        if self.q("tailLines") is not None:
            n = int(self.q("tailLines"))
            lines = lines[-n:] if n > 0 else []
        stamp = self.q("timestamps") == "true"
        self.start_response(200, "text/plain")
        uid = pod["metadata"]["uid"]
        try:
            for line in lines:
                if self.pod_gone_or_stopping(ns, name, uid) or self.store.stopping:
                    break
                if stamp:
                    line = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ ").encode() + line
                self.write_chunk(line)
                time.sleep(LOG_LINE_DELAY)
            if self.q("follow") == "true":
                while not self.pod_gone_or_stopping(ns, name, uid) and not self.store.stopping and not self.client_gone():
                    with self.store.cond:
                        self.store.cond.wait(0.2)
            self.end_chunks()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ---- pods/exec -----------------------------------------------------------------------------

    def pod_exec(self, ns, name):
        """pods/NAME/exec over WebSocket, sub-protocol v5.channel.k8s.io (v4 also accepted).
        `tar cf - PATH` (what `kubectl cp POD:PATH local` runs) answers with a tar of
        fixtures/captures/<nodeName>.pcapng named PATH; anything else exits 1."""
        pod = self.store.get("pods", ns, name)
        if pod is None:
            raise not_found(RES_BY_PLURAL["pods"], name)
        container = self.pick_container(pod, name)
        cmd = self.query.get("command", [])
        if not cmd:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        if self.headers.get("Upgrade", "").lower() != "websocket":
            # SPDY/3.1 (kubectl's fallback) is not implemented.
            raise ApiError(400, "BadRequest", "Upgrade request required")
        offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        proto = next((p for p in ("v5.channel.k8s.io", "v4.channel.k8s.io") if p in offered), None)
        key = self.headers.get("Sec-WebSocket-Key")
        if proto is None or not key:
            raise ApiError(400, "BadRequest", "unable to upgrade: no supported sub-protocol among %s" % offered)

        # Opening handshake, RFC 6455 section 4.2.2.
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n" % (accept, proto)).encode())
        self.wfile.flush()
        self.close_connection = True
        ws = WebSocket(self.rfile, self.wfile)
        reader = threading.Thread(target=ws.reader, args=(lambda ch, data: None,), daemon=True)
        reader.start()
        try:
            stdout, stderr, code = self.run_in_container(pod, container, cmd)
            # stderr first: GNU tar prints its warnings before it writes the archive.
            if stderr and "true" in self.query.get("stderr", []):
                ws.send_channel(CH_STDERR, stderr)
            if stdout and "true" in self.query.get("stdout", []):
                ws.send_channel(CH_STDOUT, stdout)
            status = exec_status_success() if code == 0 else exec_status_exit(cmd, code)
            ws.send_channel(CH_ERROR, json.dumps(status, separators=(",", ":")).encode())
            ws.close(1000)
            ws.close_received.wait(2)  # let the client answer the close
        except (BrokenPipeError, ConnectionResetError):
            pass

    def run_in_container(self, pod, container, cmd):
        """Returns (stdout, stderr, exit code) of cmd "run" in the container."""
        path, skip = None, 0
        if len(cmd) == 4 and cmd[:3] == ["tar", "cf", "-"]:
            path = cmd[3]
        elif len(cmd) == 3 and cmd[:2] == ["sh", "-c"]:
            # kubectl cp --retries=N runs: sh -c "tar cf - PATH | tail -c+OFFSET"
            m = re.fullmatch(r"tar cf - (\S+) \| tail -c\+(\d+)", cmd[2])
            if m:
                path, skip = m.group(1), max(int(m.group(2)) - 1, 0)
        if path is None:
            return b"", ("fake-apiserver: exec of %s is not simulated\n" % cmd).encode(), 1
        member, warn = gnu_tar_member(path)
        capture = os.path.join(self.cluster.fixtures, "captures", "%s.pcapng" % pod["spec"].get("nodeName"))
        try:
            with open(capture, "rb") as f:
                data = f.read()
            mtime = os.path.getmtime(capture)
        except (FileNotFoundError, TypeError):
            # What GNU tar does for a missing file: an empty archive and exit status 2.
            err = warn + "tar: %s: Cannot stat: No such file or directory\ntar: Exiting with failure status due to previous errors\n" % member
            return b"\0" * 10240, err.encode(), 2
        return make_tar(member, data, mtime)[skip:], warn.encode(), 0


BATCH_GROUP = {"name": "batch", "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
               "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}}
OPENAPI_V3_GVS = {"api/v1": ("", "v1"), "apis/batch/v1": ("batch", "v1")}
FLOWSCHEMA_UID = str(uuid.uuid4())
PRIORITYLEVEL_UID = str(uuid.uuid4())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", required=True, help="fixture directory (nodes.json, namespaces.json, pods.json, logs/, captures/)")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: pick a free one)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--requests", help="append one JSON line per request to this file")
    ap.add_argument("--pod-start-delay", type=float, default=0.0,
                    help="seconds a new pod stays Pending/ContainerCreating before Running (default 0)")
    args = ap.parse_args()

    cluster = Cluster(os.path.abspath(args.fixtures), args.pod_start_delay)
    server = Server(("127.0.0.1", args.port), cluster, args.requests)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)

    def stop(signum, frame):
        with cluster.store.cond:
            cluster.store.stopping = True
            cluster.store.cond.notify_all()
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
