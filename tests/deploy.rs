//! deploy/: the Kubernetes manifests against Kubernetes' own schemas (kubernetes-validate, offline)
//! and against the server they run (image, user, probes, port, drain), the compose file against
//! its nginx.conf, and that nginx.conf through `nginx -t`. Tools .ci/deploy-tools.sh installs;
//! each check that lacks one prints `SKIP: <why>`.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::remote::{self, Instance, deploy_venv, read, repo, tool, yaml_documents};
use serde_json::{Value, json};

const MANIFESTS: [&str; 4] = [
    "deploy/kubernetes/deployment.yaml",
    "deploy/kubernetes/service.yaml",
    "deploy/kubernetes/hpa.yaml",
    "deploy/kubernetes/pdb.yaml",
];

/// The oldest Kubernetes the manifests are for (the preStop `sleep` action is on by default from
/// 1.30) and the newest kubernetes-validate knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];

const IMAGE: &str = "ghcr.io/opentrain-mcp/opentrain-mcp";

fn skip(why: &str) {
    println!("SKIP: {why}");
}

/// One manifest's single document.
fn manifest(path: &str) -> Option<Value> {
    let mut docs = yaml_documents(path)?;
    assert_eq!(docs.len(), 1, "{path}: one document");
    docs.pop()
}

fn kubernetes_validate(files: &[std::path::PathBuf], version: &str) -> Result<String, String> {
    let venv = deploy_venv().expect("venv");
    let out = Command::new(venv.join("bin/kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", version])
        .args(files)
        .output()
        .expect("kubernetes-validate runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

#[test]
fn manifests_validate_against_the_kubernetes_schemas() {
    let Some(venv) = deploy_venv() else {
        return skip(
            "kubernetes-validate is not installed (.ci/deploy-tools.sh makes target/ci-tools/venv-deploy)",
        );
    };
    if !venv.join("bin/kubernetes-validate").is_file() {
        return skip("the deploy venv has no kubernetes-validate");
    }
    let files: Vec<_> = MANIFESTS.iter().map(|m| repo(m)).collect();
    for version in KUBERNETES_VERSIONS {
        let out = kubernetes_validate(&files, version)
            .unwrap_or_else(|e| panic!("Kubernetes {version} refuses the manifests:\n{e}"));
        for kind in [
            "deployment/opentrain-mcp",
            "service/opentrain-mcp",
            "horizontalpodautoscaler/opentrain-mcp",
            "poddisruptionbudget/opentrain-mcp",
        ] {
            assert!(
                out.contains(&format!("passed for resource {kind}")),
                "{kind} was not checked against {version}:\n{out}"
            );
        }
    }

    // The validator is strict: the same Deployment with one misspelt field is refused.
    let dir = tempfile::TempDir::new().unwrap();
    let bad = dir.path().join("deployment.yaml");
    let text = read("deploy/kubernetes/deployment.yaml")
        .replace("readOnlyRootFilesystem:", "readOnlyRootFileSystem:");
    std::fs::write(&bad, text).unwrap();
    let refused = kubernetes_validate(&[bad], KUBERNETES_VERSIONS[1])
        .expect_err("a misspelt field is refused");
    assert!(refused.contains("readOnlyRootFileSystem"), "{refused}");
}

#[test]
fn kustomization_builds_the_four_resources() {
    let Some(kubectl) = tool("kubectl") else {
        return skip(
            "kubectl is not installed (kubectl kustomize builds deploy/kubernetes offline)",
        );
    };
    let out = Command::new(kubectl)
        .args(["kustomize"])
        .arg(repo("deploy/kubernetes"))
        .output()
        .expect("kubectl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for kind in [
        "kind: Deployment",
        "kind: Service",
        "kind: HorizontalPodAutoscaler",
        "kind: PodDisruptionBudget",
    ] {
        let n = text.lines().filter(|l| *l == kind).count();
        assert_eq!(n, 1, "{kind} in:\n{text}");
    }
    let image = format!("image: {IMAGE}:{}", env!("CARGO_PKG_VERSION"));
    assert!(text.contains(&image), "{image} in:\n{text}");
}

/// The container as the Deployment runs it.
fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

fn args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect()
}

/// The value after `flag` in an argument list.
fn flag<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

#[test]
fn deployment_runs_the_release_image_locked_down() {
    let Some(deployment) = manifest("deploy/kubernetes/deployment.yaml") else {
        return skip("no PyYAML (.ci/deploy-tools.sh makes target/ci-tools/venv-deploy)");
    };
    let spec = &deployment["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2, "2+ replicas");
    let pod = &spec["template"]["spec"];
    let labels = &spec["template"]["metadata"]["labels"];
    assert_eq!(
        spec["selector"]["matchLabels"]["app.kubernetes.io/name"],
        labels["app.kubernetes.io/name"]
    );
    assert_eq!(pod["automountServiceAccountToken"], json!(false));

    // The image the release publishes (Dockerfile, release.yml), at this version; its user.
    let c = container(&deployment);
    assert_eq!(
        c["image"],
        json!(format!("{IMAGE}:{}", env!("CARGO_PKG_VERSION")))
    );
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains(IMAGE), "the Dockerfile names {IMAGE}");
    assert!(dockerfile.contains("USER 65532:65532"));
    assert_eq!(pod["securityContext"]["runAsUser"], json!(65532));
    assert_eq!(pod["securityContext"]["runAsGroup"], json!(65532));
    assert_eq!(pod["securityContext"]["runAsNonRoot"], json!(true));
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        json!("RuntimeDefault")
    );
    let kustomization = read("deploy/kubernetes/kustomization.yaml");
    assert!(
        kustomization.contains(&format!("newTag: {}", env!("CARGO_PKG_VERSION"))),
        "kustomization.yaml pins this version"
    );

    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], json!(true));
    assert_eq!(sc["readOnlyRootFilesystem"], json!(true));
    assert_eq!(sc["allowPrivilegeEscalation"], json!(false));
    assert_eq!(sc["privileged"], json!(false));
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert!(sc["capabilities"].get("add").is_none());

    let resources = &c["resources"];
    for key in ["cpu", "memory"] {
        assert!(resources["requests"][key].is_string(), "requests.{key}");
    }
    assert!(resources["limits"]["memory"].is_string(), "limits.memory");

    // Probes on the server's endpoints, through the port the server listens on.
    let a = args(c);
    let listen = flag(&a, "--http").expect("--http ADDR");
    let port: u64 = listen.rsplit(':').next().unwrap().parse().unwrap();
    let ports = c["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0]["containerPort"], json!(port));
    let name = ports[0]["name"].as_str().unwrap();
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], json!("/readyz"));
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], json!("/healthz"));
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], json!(name));
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], json!(name));
    // A pod that stops being ready leaves the Service before liveness would restart it.
    let ready = &c["readinessProbe"];
    let live = &c["livenessProbe"];
    assert!(
        ready["periodSeconds"].as_u64().unwrap() * ready["failureThreshold"].as_u64().unwrap()
            < live["periodSeconds"].as_u64().unwrap() * live["failureThreshold"].as_u64().unwrap()
    );
}

#[test]
fn service_hpa_and_pdb_select_the_deployment() {
    let (Some(deployment), Some(service), Some(hpa), Some(pdb)) = (
        manifest(MANIFESTS[0]),
        manifest(MANIFESTS[1]),
        manifest(MANIFESTS[2]),
        manifest(MANIFESTS[3]),
    ) else {
        return skip("no PyYAML (.ci/deploy-tools.sh makes target/ci-tools/venv-deploy)");
    };
    let labels = deployment["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .unwrap();
    let selects = |selector: &Value, what: &str| {
        let selector = selector
            .as_object()
            .unwrap_or_else(|| panic!("{what}: a selector"));
        assert!(!selector.is_empty(), "{what}: a selector");
        for (k, v) in selector {
            assert_eq!(
                labels.get(k),
                Some(v),
                "{what} selects {k}={v} the pods do not have"
            );
        }
    };

    selects(&service["spec"]["selector"], "the Service");
    assert_eq!(
        service["spec"]["sessionAffinity"],
        json!("None"),
        "no affinity"
    );
    let port_name = container(&deployment)["ports"][0]["name"].clone();
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port_name);

    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(target["kind"], json!("Deployment"));
    assert_eq!(target["name"], deployment["metadata"]["name"]);
    let min = hpa["spec"]["minReplicas"].as_u64().unwrap();
    assert!(min >= 2, "the autoscaler keeps 2+ replicas");
    assert_eq!(deployment["spec"]["replicas"].as_u64().unwrap(), min);
    assert!(hpa["spec"]["maxReplicas"].as_u64().unwrap() > min);
    // Utilization targets need the CPU request the Deployment sets.
    assert_eq!(hpa["spec"]["metrics"][0]["resource"]["name"], json!("cpu"));

    selects(
        &pdb["spec"]["selector"]["matchLabels"],
        "the PodDisruptionBudget",
    );
    let unavailable = pdb["spec"]["maxUnavailable"]
        .as_u64()
        .expect("maxUnavailable");
    assert!(
        unavailable >= 1 && unavailable < min,
        "a drain keeps one replica serving"
    );
}

/// The flags and environment a container gets, ready for a loopback run: `--http` dropped (the
/// test instance listens on 127.0.0.1:0).
fn loopback_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--http" {
            it.next();
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// The container's environment as the kubelet gives it in namespace `default`: `fieldRef`s to the
/// namespace resolved, `$(VAR)` references expanded.
fn container_env(container: &Value) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for v in container["env"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap().to_string();
        let value = if let Some(value) = v["value"].as_str() {
            let mut value = value.to_string();
            for (k, earlier) in &env {
                value = value.replace(&format!("$({k})"), earlier);
            }
            value
        } else {
            assert_eq!(
                v["valueFrom"]["fieldRef"]["fieldPath"],
                json!("metadata.namespace"),
                "{name}: a literal value or the namespace"
            );
            "default".to_string()
        };
        assert!(
            !value.contains("$("),
            "{name}: {value} refers to a variable defined later"
        );
        env.push((name, value));
    }
    env
}

fn env_value<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn the_deployments_flags_and_env_start_the_server_and_its_probes_answer() {
    let Some(deployment) = manifest("deploy/kubernetes/deployment.yaml") else {
        return skip("no PyYAML (.ci/deploy-tools.sh makes target/ci-tools/venv-deploy)");
    };
    let c = container(&deployment);
    let args = loopback_args(&args(c));
    let env = container_env(c);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let instance = Instance::start(&args, &envs);

    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        assert_eq!(c[probe]["httpGet"]["path"], json!(path));
        // The kubelet's Host is the pod's address, which no allow-list names.
        let (status, body) = remote::http_get(instance.addr, path, "10.1.2.3:8080");
        assert_eq!(status, 200, "{path}: {body}\nstderr: {}", instance.stderr());
    }
    // Every in-cluster name of the Service is served, and other names are not.
    let hosts = env_value(&env, "OPENTRAIN_HTTP_ALLOWED_HOSTS").expect("allowed hosts");
    assert!(
        hosts.contains("opentrain-mcp.default.svc.cluster.local"),
        "{hosts}"
    );
    let metadata = "/.well-known/oauth-protected-resource/mcp";
    for host in hosts.split(',') {
        let (status, body) = remote::http_get(instance.addr, "/mcp", host);
        assert_eq!(status, 401, "Host {host} reaches the token check: {body}");
        let (status, body) = remote::http_get(instance.addr, metadata, host);
        assert_eq!(status, 200, "Host {host}: {body}");
    }
    let (status, _) = remote::http_get(instance.addr, "/mcp", "rebound.example.com");
    assert_eq!(
        status, 403,
        "a Host the Deployment does not name is refused"
    );
}

#[test]
fn termination_grace_covers_the_drain() {
    let Some(deployment) = manifest("deploy/kubernetes/deployment.yaml") else {
        return skip("no PyYAML (.ci/deploy-tools.sh makes target/ci-tools/venv-deploy)");
    };
    let pod = &deployment["spec"]["template"]["spec"];
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    let c = container(&deployment);
    let pre_stop = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .expect("a preStop sleep");
    let drain: u64 = env_value(&container_env(c), "OPENTRAIN_HTTP_SHUTDOWN_GRACE_SECS")
        .expect("the drain is set explicitly")
        .parse()
        .unwrap();
    // The kubelet counts the preStop hook inside the grace period, then sends SIGTERM.
    assert!(
        grace > pre_stop + drain,
        "terminationGracePeriodSeconds {grace} ≤ preStop {pre_stop} + drain {drain}"
    );

    let Some(docs) = yaml_documents("deploy/compose/compose.yaml") else {
        return;
    };
    let s = &docs[0]["services"]["opentrain-mcp-1"];
    let compose_drain: u64 = s["environment"]["OPENTRAIN_HTTP_SHUTDOWN_GRACE_SECS"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stop: u64 = s["stop_grace_period"]
        .as_str()
        .unwrap()
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert!(
        stop > compose_drain,
        "stop_grace_period {stop}s ≤ drain {compose_drain}s"
    );
}

#[test]
fn compose_runs_three_replicas_behind_the_nginx_upstream() {
    let Some(docs) = yaml_documents("deploy/compose/compose.yaml") else {
        return skip("no PyYAML (.ci/deploy-tools.sh makes target/ci-tools/venv-deploy)");
    };
    let compose = &docs[0];
    let services = compose["services"].as_object().unwrap();
    let replicas: Vec<&String> = services
        .keys()
        .filter(|k| k.starts_with("opentrain-mcp-"))
        .collect();
    assert_eq!(replicas.len(), 3, "three replicas: {replicas:?}");

    let deployment = manifest("deploy/kubernetes/deployment.yaml").unwrap();
    let k8s = container(&deployment);
    let k8s_args = args(k8s);
    let conf = read("deploy/compose/nginx.conf");
    for name in &replicas {
        let s = &services[name.as_str()];
        // The same image and flags as the Kubernetes Deployment, locked down the same way.
        assert_eq!(s["image"], k8s["image"], "{name}");
        let command: Vec<String> = s["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert_eq!(command, k8s_args, "{name}: same flags as the Deployment");
        assert_eq!(s["read_only"], json!(true));
        assert_eq!(s["cap_drop"], json!(["ALL"]));
        assert_eq!(s["user"], json!("65532:65532"));
        assert_eq!(s["security_opt"], json!(["no-new-privileges:true"]));
        assert!(
            s.get("ports").is_none(),
            "{name} is reached through nginx only"
        );
        let port = flag(&command, "--http")
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap();
        let upstream = format!("server {name}:{port} ");
        assert!(conf.contains(&upstream), "nginx.conf has `{upstream}`");
    }
    let upstreams = conf.matches("\n    server opentrain-mcp-").count();
    assert_eq!(
        upstreams, 3,
        "nginx.conf lists the three replicas and nothing else"
    );

    let nginx = &services["nginx"];
    let depends: BTreeSet<&str> = nginx["depends_on"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(depends, replicas.iter().map(|s| s.as_str()).collect());
    assert_eq!(
        nginx["ports"],
        json!(["127.0.0.1:8080:8080"]),
        "loopback only"
    );
    assert_eq!(
        nginx["volumes"],
        json!(["./nginx.conf:/etc/nginx/conf.d/default.conf:ro"])
    );
}

#[test]
fn nginx_conf_balances_round_robin_and_streams() {
    let conf = read("deploy/compose/nginx.conf");
    let directives: Vec<&str> = conf
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .collect();
    for affinity in ["ip_hash", "hash ", "sticky", "least_conn", "random"] {
        assert!(
            !directives.iter().any(|d| d.starts_with(affinity)),
            "round-robin only, no {affinity}"
        );
    }
    for needed in [
        "proxy_http_version 1.1;",
        "proxy_set_header Connection \"\";",
        "proxy_buffering off;",
        "proxy_cache off;",
        "proxy_read_timeout 660s;",
        "proxy_set_header Host $http_host;",
        "proxy_next_upstream error timeout;",
        "proxy_next_upstream error timeout non_idempotent;",
    ] {
        assert!(directives.contains(&needed), "nginx.conf lacks `{needed}`");
    }
    // non_idempotent only where $opentrain_mcp_resend sent the request.
    assert_eq!(conf.matches("non_idempotent;").count(), 1);
}

#[test]
fn nginx_resends_exactly_the_read_only_tools() {
    let conf = read("deploy/compose/nginx.conf");
    let in_map: BTreeSet<String> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"tools/call:"))
        .map(|l| l.split('"').next().unwrap().to_string())
        .collect();
    let mut read_only = BTreeSet::new();
    for entry in std::fs::read_dir(repo("tests/snapshots")).unwrap() {
        let tool: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        if tool["annotations"]["readOnlyHint"] == json!(true) {
            read_only.insert(tool["name"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(read_only.len(), 20);
    assert_eq!(
        in_map, read_only,
        "nginx.conf's $opentrain_mcp_resend lists the tools with readOnlyHint"
    );
}

#[test]
fn nginx_accepts_the_conf() {
    let Some(nginx) = tool("nginx") else {
        return skip("nginx is not installed (.ci/deploy-tools.sh installs Debian's nginx)");
    };
    let dir = tempfile::TempDir::new().unwrap();
    let conf = dir.path().join("nginx.conf");
    let upstreams: Vec<_> = (1..=3)
        .map(|n| format!("127.0.0.1:{}", 18000 + n).parse().unwrap())
        .collect();
    std::fs::write(&conf, remote::nginx_config(&upstreams, 18080, dir.path())).unwrap();
    remote::nginx_test(&nginx, &conf, dir.path()).unwrap_or_else(|e| panic!("nginx -t: {e}"));

    // nginx -t does refuse a broken one.
    std::fs::write(
        &conf,
        remote::nginx_config(&upstreams, 18080, dir.path())
            .replace("proxy_buffering off;", "proxy_buffering nope;"),
    )
    .unwrap();
    let refused = remote::nginx_test(&nginx, &conf, dir.path()).expect_err("refused");
    assert!(refused.contains("proxy_buffering"), "{refused}");
}
