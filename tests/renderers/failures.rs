//! Renders that fail apply nothing; chart Secrets never print; unchanged inputs start no
//! renderer.

use super::{PASSWORD, namespace_exists, source, workspace};
use crate::support::{self, Run, Workspace, driftless, renderers, sync};
use crate::watch_render::Watcher;

#[tokio::test]
async fn a_broken_template_a_missing_values_file_and_a_remote_base_apply_nothing() {
    type Case = (&'static str, fn(&Workspace), &'static [&'static str]);
    let cases: [Case; 3] = [
        (
            "broken template",
            |ws| {
                ws.write(
                    "charts/web/templates/broken.yaml",
                    "kind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ .Values.greeting | nosuchfunc }}\n",
                )
            },
            &[
                "charts/web (chart): helm template failed",
                "templates/broken.yaml:5",
                "nosuchfunc",
            ],
        ),
        (
            "missing values file",
            |ws| {
                ws.write(
                    "charts/web/driftless-helm.yaml",
                    "valuesFiles: [values-prod.yaml]\n",
                )
            },
            &["charts/web (chart): values file values-prod.yaml: not found in the chart folder"],
        ),
        (
            "remote base",
            |ws| {
                ws.edit(
                    "app/overlays/prod/kustomization.yaml",
                    "[../../base]",
                    "[../../base, \"https://github.com/acme/platform//base?ref=v1\"]",
                )
            },
            &[
                "app/overlays/prod (kustomization)",
                "is remote",
                "--allow-remote-bases",
            ],
        ),
    ];
    for (what, break_it, says) in cases {
        let ns = support::unique("dl-broken");
        let ws = workspace(&ns);
        break_it(&ws);
        let run = sync(ws.path(), &["--prune"]);
        assert_eq!(run.code, 2, "{what}: {}", run.stderr);
        for needle in says {
            assert_contains!(run.stderr, needle, "{what}");
        }
        assert_contains!(run.stderr, "nothing applied", "{what}");
        assert!(!namespace_exists(&ns).await, "{what}: nothing was applied");
    }

    // No renderer at all: one line saying what to install.
    let ws = workspace(&support::unique("dl-nohelm"));
    let mut command = support::command(
        &support::cluster().kubeconfig,
        &["render", "--source", &source(&ws)],
        &[],
    );
    let out = command
        .env_remove("DRIFTLESS_HELM_BINARY")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let run = Run::from_output(out);
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stderr,
        "charts/web (chart): helm is not installed: install helm"
    );
}

#[tokio::test]
async fn a_secret_rendered_from_chart_values_is_masked_in_every_output() {
    let ns = support::unique("dl-chartsecret");
    let ws = workspace(&ns);
    let src = source(&ws);
    let mut runs = Vec::new();
    for format in ["yaml", "json"] {
        runs.push(driftless(&[
            "render", "--source", &src, "-o", format, "-vv",
        ]));
    }
    for format in ["text", "markdown", "json"] {
        runs.push(driftless(&["diff", "--source", &src, "-o", format, "-vv"]));
    }
    runs.push(driftless(&["sync", "--source", &src, "-o", "json", "-vv"]));
    ws.edit(
        "charts/web/values.yaml",
        PASSWORD,
        &format!("{PASSWORD}-rotated"),
    );
    for format in ["text", "markdown", "json"] {
        runs.push(driftless(&["diff", "--source", &src, "-o", format, "-vv"]));
    }
    runs.push(driftless(&["sync", "--source", &src, "-vv"]));
    // A template that quotes the value in its error: the error is scrubbed too.
    ws.write(
        "charts/web/templates/fail.yaml",
        "{{ fail (printf \"refusing password %s\" .Values.password) }}\n",
    );
    let failed = driftless(&["diff", "--source", &src]);
    assert_eq!(failed.code, 2);
    assert_contains!(failed.stderr, "refusing password ***");
    runs.push(failed);
    let encoded = "Y2hhcnQtcHctNWU3YTFjOWQ"; // base64 of PASSWORD, minus padding
    for run in &runs {
        let all = run.all_output();
        assert_not_contains!(all, [PASSWORD, encoded], "leaked");
    }
    assert_contains!(runs[0].stdout, "password: \"***\"");
    ws.cleanup().await;
}

#[test]
fn a_re_render_of_unchanged_inputs_starts_no_renderer() {
    let ns = support::unique("dl-cache");
    let ws = workspace(&ns);
    let bin = tempfile::tempdir().unwrap();
    let helm = renderers::counting(bin.path(), "helm", &renderers::helm());
    let kubectl = renderers::counting(bin.path(), "kubectl", &renderers::kubectl());
    let watcher = Watcher::start(&[
        "diff",
        "--watch",
        "--source",
        &source(&ws),
        "--helm-binary",
        &helm.to_string_lossy(),
        "--kustomize-binary",
        &kubectl.to_string_lossy(),
    ]);
    assert!(watcher.wait_for("--- pass 1 ---"));
    let first = renderers::starts(bin.path());
    // Two version probes, one chart, two overlays.
    assert_eq!(first.len(), 5, "{first:?}");
    ws.write(
        "namespace.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    a: b\n"),
    );
    assert!(watcher.wait_for("--- pass 2 ---"));
    assert_eq!(
        renderers::starts(bin.path()),
        first,
        "nothing a renderer reads changed"
    );
    ws.edit("charts/web/values.yaml", "greeting: hello", "greeting: hi");
    assert!(watcher.wait_for("--- pass 3 ---"));
    let third = renderers::starts(bin.path());
    assert_eq!(
        third.len(),
        6,
        "only the chart is rendered again: {third:?}"
    );
    assert!(third[5].starts_with("helm template web"), "{third:?}");
}
