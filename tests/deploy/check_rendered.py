"""Checks what the Helm chart promises (issue 6, "Done when") on rendered
output: for each service a Deployment (gRPC readiness and liveness probes on
grpc.health.v1, pod and container security context, grace period covering
the drain), Service, HorizontalPodAutoscaler, PodDisruptionBudget and
NetworkPolicy; a ServiceMonitor per service when enabled; no secret value in
any ConfigMap.

  python3 check_rendered.py default.yaml full.yaml SECRET...

default.yaml is rendered with default values (all five kinds per service),
full.yaml with ci/full-values.yaml (ServiceMonitor on, TLS on, one HPA and
one PDB off); SECRET... are the secret
values full-values.yaml sets, which must appear in no ConfigMap.
"""
import sys

import yaml

SERVICES = ("profile-service", "scoring-service", "feedback-service")
KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy")


def load(path):
    return [d for d in yaml.safe_load_all(open(path)) if d]


def by_component(docs, kind):
    out = {}
    for d in docs:
        if d["kind"] == kind:
            comp = d["metadata"].get("labels", {}).get("app.kubernetes.io/component")
            out.setdefault(comp, []).append(d)
    return out


def check_deployment(dep, errors, tls):
    name = dep["metadata"]["name"]
    spec = dep["spec"]["template"]["spec"]
    psc = spec.get("securityContext", {})
    if not psc.get("runAsNonRoot"):
        errors.append(f"{name}: pod securityContext.runAsNonRoot is not true")
    env_drain = None
    for c in spec["containers"]:
        sc = c.get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem"):
            errors.append(f"{name}/{c['name']}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{name}/{c['name']}: allowPrivilegeEscalation is not false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            errors.append(f"{name}/{c['name']}: capabilities.drop is not [ALL]")
        if not c.get("resources", {}).get("requests"):
            errors.append(f"{name}/{c['name']}: no resource requests")
        for probe in ("readinessProbe", "livenessProbe"):
            p = c.get(probe)
            if p is None:
                errors.append(f"{name}/{c['name']}: no {probe}")
            elif not tls and "grpc" not in p:
                errors.append(f"{name}/{c['name']}: {probe} is not a native gRPC probe")
        ports = {p["name"] for p in c.get("ports", [])}
        if not {"grpc", "metrics"} <= ports:
            errors.append(f"{name}/{c['name']}: ports grpc and metrics expected, got {sorted(ports)}")
        for e in c.get("env", []):
            if e["name"] == "RAPPORT_DRAIN_SECONDS":
                env_drain = int(e["value"])
    grace = spec.get("terminationGracePeriodSeconds")
    if env_drain is None or grace is None or grace < env_drain:
        errors.append(f"{name}: terminationGracePeriodSeconds {grace} does not cover RAPPORT_DRAIN_SECONDS {env_drain}")


def check(path, want_servicemonitor, tls, kinds=KINDS):
    docs = load(path)
    errors = []
    for kind in kinds:
        found = by_component(docs, kind)
        for svc in SERVICES:
            if not found.get(svc):
                errors.append(f"{path}: no {kind} for {svc}")
    for deps in by_component(docs, "Deployment").values():
        for dep in deps:
            check_deployment(dep, errors, tls)
    sms = by_component(docs, "ServiceMonitor")
    for svc in SERVICES:
        if want_servicemonitor and not sms.get(svc):
            errors.append(f"{path}: no ServiceMonitor for {svc}")
        if not want_servicemonitor and sms.get(svc):
            errors.append(f"{path}: a ServiceMonitor for {svc} although disabled")
    return docs, errors


def main():
    default, full, secrets = sys.argv[1], sys.argv[2], sys.argv[3:]
    _, errors = check(default, want_servicemonitor=False, tls=False)
    # full-values turns profile's HPA and feedback's PDB off on purpose.
    docs, more = check(full, want_servicemonitor=True, tls=True,
                       kinds=("Deployment", "Service", "NetworkPolicy"))
    errors += more
    if not any(d["kind"] == "Secret" for d in docs):
        errors.append(f"{full}: secrets given as values but no Secret rendered")
    for d in docs:
        if d["kind"] == "ConfigMap":
            text = yaml.safe_dump(d)
            for s in secrets:
                if s in text:
                    errors.append(f"{full}: ConfigMap {d['metadata']['name']} contains a secret value")
        if d["kind"] in ("Deployment",):
            text = yaml.safe_dump(d)
            for s in secrets[:2]:
                if s in text:
                    errors.append(f"{full}: Deployment {d['metadata']['name']} contains a secret value in clear")
    for e in errors:
        print(e)
    print(f"check_rendered: {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
