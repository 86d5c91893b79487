use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::*;
use cc_gocompat::to_go_json;

fn repo_dir(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn sample_clusters() -> PathBuf {
    repo_dir("clusters")
}

fn fixture_clusters() -> PathBuf {
    repo_dir("tests/fixtures/clusters")
}

fn sample(name: &str) -> Cluster {
    load_cluster(&sample_clusters(), name).unwrap_or_else(|error| panic!("{error}"))
}

fn go_json(cluster: &Cluster) -> String {
    String::from_utf8(to_go_json(cluster).expect("encodable")).expect("utf-8")
}

fn names<'a>(items: impl IntoIterator<Item = &'a MetricConfig>) -> Vec<&'a str> {
    items
        .into_iter()
        .map(|metric| metric.name.as_str())
        .collect()
}

/// A minimal valid cluster document with two sub-clusters, for edits in single tests.
fn document() -> Value {
    let capability = json!({"unit": {"base": "F/s", "prefix": "G"}, "value": 10});
    let sub_cluster = |name: &str, nodes: &str| {
        json!({"name": name, "nodes": nodes, "processorType": "cpu",
               "socketsPerNode": 1, "coresPerSocket": 1, "threadsPerCore": 1,
               "flopRateScalar": capability, "flopRateSimd": capability,
               "memoryBandwidth": capability,
               "topology": {"node": [0], "socket": [[0]], "memoryDomain": [[0]], "core": [[0]]}})
    };
    json!({
        "name": "mini",
        "metricConfig": [
            {"name": "load", "unit": {"base": ""}, "scope": "node", "aggregation": "avg",
             "timestep": 60, "peak": 8, "normal": 4, "caution": 1, "alert": 0.5,
             "footprint": "avg", "energy": "power", "restrict": true, "lowerIsBetter": true},
        ],
        "subClusters": [sub_cluster("alpha", "m[01-04]"), sub_cluster("beta", "m[05-08]")],
    })
}

fn parse(document: &Value) -> Result<Cluster, ClusterError> {
    let json = serde_json::to_vec(document).expect("serializable");
    parse_cluster(Path::new("mini/cluster.json"), &json)
}

fn parsed(document: &Value) -> Cluster {
    parse(document).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn loads_all_sample_clusters_in_directory_order() {
    let clusters = load_clusters(&sample_clusters()).expect("samples load");
    let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["alex", "emmy", "fritz"]);
    let sub_cluster_counts: Vec<usize> = clusters.iter().map(|c| c.sub_clusters.len()).collect();
    assert_eq!(sub_cluster_counts, [3, 4, 3]);

    let fixtures = load_clusters(&fixture_clusters()).expect("fixtures load");
    let names: Vec<&str> = fixtures.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["richcluster", "synccluster", "testcluster"]);
}

#[test]
fn single_cluster_equals_the_one_from_the_full_load() {
    let all = load_clusters(&sample_clusters()).expect("samples load");
    assert_eq!(sample("emmy"), all[1]);
}

#[test]
fn testcluster_serializes_exactly_like_the_reference() {
    let cluster = load_cluster(&fixture_clusters(), "testcluster").expect("loads");
    let metric = r#"{"name":"load_one","unit":{"base":""},"peak":8,"normal":0,"caution":0,"alert":0,"energy":"","scope":"node","aggregation":"avg","timestep":60,"restrict":false,"lowerIsBetter":false}"#;
    let expected = format!(
        concat!(
            r#"{{"name":"testcluster","metricConfig":[{metric}],"subClusters":[{{"name":"sc1","#,
            r#""nodes":"host123,host124,host125","processorType":"Intel Core i7-4770","#,
            r#""topology":{{"node":[0,1,2,3,4,5,6,7],"socket":[[0,1,2,3,4,5,6,7]],"#,
            r#""memoryDomain":[[0,1,2,3,4,5,6,7]],"die":[[0,1,2,3,4,5,6,7]],"#,
            r#""core":[[0],[1],[2],[3],[4],[5],[6],[7]]}},"#,
            r#""flopRateScalar":{{"unit":{{"base":"F/s","prefix":"G"}},"value":14}},"#,
            r#""flopRateSimd":{{"unit":{{"base":"F/s","prefix":"G"}},"value":112}},"#,
            r#""memoryBandwidth":{{"unit":{{"base":"B/s","prefix":"G"}},"value":24}},"#,
            r#""metricConfig":[{metric}],"socketsPerNode":1,"coresPerSocket":4,"threadsPerCore":2}}]}}"#,
            "\n"
        ),
        metric = metric
    );
    assert_eq!(go_json(&cluster), expected);
}

#[test]
fn fritz_sub_clusters_get_effective_metric_lists() {
    let fritz = sample("fritz");
    let all: Vec<&str> = names(&fritz.metric_config);
    assert_eq!(all.len(), 19);

    let main = fritz.subcluster("main").expect("main");
    assert_eq!(names(&main.metric_config), all);
    assert_eq!(
        main.footprint,
        ["cpu_load", "mem_used", "flops_any", "mem_bw"]
    );
    assert_eq!(main.energy_footprint, ["cpu_power", "mem_power"]);

    let removed_on_spr1tb = ["flops_sp", "flops_dp", "mem_bw", "clock"];
    let spr1tb = fritz.subcluster("spr1tb").expect("spr1tb");
    let expected: Vec<&str> = all
        .iter()
        .copied()
        .filter(|name| !removed_on_spr1tb.contains(name))
        .collect();
    assert_eq!(names(&spr1tb.metric_config), expected);
    assert_eq!(spr1tb.footprint, ["cpu_load", "mem_used", "flops_any"]);
    assert_eq!(spr1tb.energy_footprint, ["cpu_power", "mem_power"]);

    let spr2tb = fritz.subcluster("spr2tb").expect("spr2tb");
    assert_eq!(spr2tb.metric_config.len(), 14);
    assert!(spr2tb.metric("flops_any").is_none());
    assert_eq!(spr2tb.footprint, ["cpu_load", "mem_used"]);
}

#[test]
fn fritz_overrides_replace_thresholds_and_flags() {
    let fritz = sample("fritz");
    let cluster_level = fritz.metric("mem_used").expect("mem_used");
    assert_eq!(cluster_level.peak, 256.0);
    assert_eq!(cluster_level.sub_clusters.len(), 2);

    let spr2tb = fritz.subcluster("spr2tb").expect("spr2tb");
    let expected = MetricConfig {
        name: "mem_used".into(),
        unit: Unit {
            base: "B".into(),
            prefix: "G".into(),
        },
        peak: 2048.0,
        normal: 1024.0,
        caution: 1800.0,
        alert: 2000.0,
        energy: EnergyKind::None,
        scope: MetricScope::Node,
        aggregation: Aggregation::Sum,
        footprint: Footprint::Max,
        sub_clusters: Vec::new(),
        timestep: 60,
        restrict: false,
        lower_is_better: true,
    };
    assert_eq!(spr2tb.metric("mem_used"), Some(&expected));

    // No override for `main`: the cluster-level values without the override list.
    let main_ipc = fritz
        .subcluster("main")
        .and_then(|sc| sc.metric("ipc"))
        .expect("ipc");
    assert_eq!(main_ipc.alert, 0.5);
    assert_eq!(main_ipc.scope, MetricScope::HwThread);
    assert!(main_ipc.sub_clusters.is_empty());
}

#[test]
fn fritz_output_keeps_reference_key_order() {
    let json = go_json(&sample("fritz"));
    assert!(json.starts_with(concat!(
        r#"{"name":"fritz","metricConfig":[{"name":"cpu_load","unit":{"base":""},"#,
        r#""peak":72,"normal":72,"caution":36,"alert":20,"energy":"","scope":"node","#,
        r#""aggregation":"avg","footprint":"avg","subClusters":[{"name":"spr1tb","#,
        r#""unit":{"base":""},"peak":104,"normal":104,"caution":52,"alert":20,"#,
        r#""footprint":"avg","energy":"","lowerIsBetter":false,"restrict":false,"remove":false},"#
    )));
    assert!(json.contains(concat!(
        r#"{"name":"flops_sp","unit":{"base":"Flops/s","prefix":"G"},"peak":5600,"#,
        r#""normal":1000,"caution":200,"alert":50,"energy":"","scope":"hwthread","#,
        r#""aggregation":"sum","subClusters":[{"name":"spr1tb","unit":{"base":""},"#,
        r#""peak":6656,"normal":1500,"caution":400,"alert":50,"energy":"","#,
        r#""lowerIsBetter":false,"restrict":false,"remove":true}"#
    )));
    assert!(json.contains(r#""ib_recv","unit":{"base":"B/s"},"peak":1250000,"normal":6000000,"#));
    assert!(json.contains(concat!(
        r#"],"subClusters":[{"name":"main","nodes":"f[0101-0188,0201-0288,0301-0388,"#,
        r#"0401-0488,0501-0588,0601-0688,0701-0788,0801-0888,0901-0988,1001-1088,1101-1156,"#,
        r#"1201-1256]","processorType":"Intel Icelake","topology":{"node":[0,1,2,"#
    )));
    assert!(json.contains(concat!(
        r#""memoryBandwidth":{"unit":{"base":"B/s","prefix":"G"},"value":350},"#,
        r#""metricConfig":[{"name":"cpu_load","unit":{"base":""},"peak":72,"normal":72,"#,
        r#""caution":36,"alert":20,"energy":"","scope":"node","aggregation":"avg","#,
        r#""footprint":"avg","timestep":60,"restrict":false,"lowerIsBetter":false},"#
    )));
    assert!(json.contains(concat!(
        r#""footprint":["cpu_load","mem_used","flops_any","mem_bw"],"#,
        r#""energyFootprint":["cpu_power","mem_power"],"#,
        r#""socketsPerNode":2,"coresPerSocket":36,"threadsPerCore":1}"#
    )));
    assert!(json.ends_with("]}\n"));
}

#[test]
fn alex_has_accelerators_and_unrestricted_derived_entries() {
    let alex = sample("alex");
    assert_eq!(alex.metric_config.len(), 15);
    for sub_cluster in &alex.sub_clusters {
        assert_eq!(
            names(&sub_cluster.metric_config),
            names(&alex.metric_config)
        );
        assert_eq!(sub_cluster.footprint.len(), 5, "{}", sub_cluster.name);
        assert_eq!(
            sub_cluster.energy_footprint.len(),
            3,
            "{}",
            sub_cluster.name
        );
    }
    let a40 = alex.subcluster("a40").expect("a40");
    assert_eq!(
        a40.topology.accelerators.first(),
        Some(&Accelerator {
            id: "00000000:01:00.0".into(),
            kind: "Nvidia GPU".into(),
            model: "A40".into(),
        })
    );
    let json = go_json(&alex);
    assert!(json.contains(
        r#""accelerators":[{"id":"00000000:01:00.0","type":"Nvidia GPU","model":"A40"},"#
    ));
    assert!(json.contains(r#""unit":{"base":"°C"}"#));
    assert!(json.contains(concat!(
        r#""nodes":"a[0531-0537],a[0631-0633],a0831,a[0931-0934]","#,
        r#""processorType":"AMD Milan","topology":{"#
    )));
}

#[test]
fn extra_keys_of_the_file_are_dropped() {
    let rich = load_cluster(&fixture_clusters(), "richcluster").expect("loads");
    assert!(!go_json(&rich).contains("numberOfNodes"));
    let cpu = rich.subcluster("cpu").expect("cpu");
    assert!(cpu.metric("acc_power").is_none());
    assert!(rich
        .subcluster("gpu")
        .and_then(|gpu| gpu.metric("acc_power"))
        .is_some());
}

#[test]
fn missing_core_topology_is_written_as_null() {
    let mut without_core = document();
    without_core["subClusters"][0]["topology"]
        .as_object_mut()
        .expect("object")
        .remove("core");
    let cluster = parsed(&without_core);
    assert_eq!(cluster.sub_clusters[0].topology.core, None);
    assert!(go_json(&cluster).contains(r#""memoryDomain":[[0]],"core":null},"#));
}

#[test]
fn hosts_are_mapped_to_sub_clusters() {
    let fritz = sample("fritz");
    let lookup = |host| fritz.subcluster_for_host(host).map(|sc| sc.name.as_str());
    assert_eq!(lookup("f0101"), Some("main"));
    assert_eq!(lookup("f1256"), Some("main"));
    assert_eq!(lookup("f2157"), Some("spr1tb"));
    // Both spr1tb and spr2tb list f2181; the first sub-cluster in file order wins.
    assert_eq!(lookup("f2181"), Some("spr1tb"));
    assert_eq!(lookup("f1257"), None);
    assert_eq!(lookup("a0101"), None);

    let test = load_cluster(&fixture_clusters(), "testcluster").expect("loads");
    assert_eq!(
        test.subcluster_for_host("host124")
            .map(|sc| sc.name.as_str()),
        Some("sc1")
    );
    assert!(test.subcluster_for_host("host126").is_none());
}

#[test]
fn wildcard_first_sub_cluster_is_the_fallback() {
    for wildcard in ["*", ""] {
        let mut first_wildcard = document();
        first_wildcard["subClusters"][0]["nodes"] = json!(wildcard);
        let cluster = parsed(&first_wildcard);
        let lookup = |host| cluster.subcluster_for_host(host).map(|sc| sc.name.as_str());
        assert_eq!(lookup("m06"), Some("beta"));
        assert_eq!(lookup("anything"), Some("alpha"));
        assert_eq!(cluster.sub_clusters[0].nodes.as_str(), wildcard);

        let mut second_wildcard = document();
        second_wildcard["subClusters"][1]["nodes"] = json!(wildcard);
        let cluster = parsed(&second_wildcard);
        assert_eq!(
            cluster
                .subcluster_for_host("m02")
                .map(|sc| sc.name.as_str()),
            Some("alpha")
        );
        assert!(cluster.subcluster_for_host("anything").is_none());
    }
}

#[test]
fn derived_entries_copy_the_metric_without_restriction() {
    let cluster = parsed(&document());
    let metric = cluster.metric("load").expect("load");
    assert!(metric.restrict);
    let derived = cluster.sub_clusters[0].metric("load").expect("derived");
    assert_eq!(
        derived,
        &MetricConfig {
            restrict: false,
            ..metric.clone()
        }
    );
    assert_eq!(cluster.sub_clusters[0].footprint, ["load"]);
    assert_eq!(cluster.sub_clusters[0].energy_footprint, ["load"]);
}

#[test]
fn overrides_apply_even_when_empty_and_last_one_wins() {
    let mut overridden = document();
    overridden["metricConfig"][0]["subClusters"] = json!([
        {"name": "alpha", "peak": 1, "unit": {"base": "W"}},
        {"name": "alpha", "peak": 16, "normal": 8, "restrict": true},
    ]);
    let cluster = parsed(&overridden);
    let alpha = cluster.sub_clusters[0].metric("load").expect("derived");
    assert_eq!(
        (alpha.peak, alpha.normal, alpha.caution, alpha.alert),
        (16.0, 8.0, 0.0, 0.0)
    );
    assert_eq!(alpha.footprint, Footprint::None);
    assert_eq!(alpha.energy, EnergyKind::None);
    assert!(!alpha.lower_is_better);
    assert!(!alpha.restrict);
    assert_eq!(alpha.unit.base, "");
    assert!(cluster.sub_clusters[0].footprint.is_empty());
    assert!(cluster.sub_clusters[0].energy_footprint.is_empty());

    let beta = cluster.sub_clusters[1].metric("load").expect("derived");
    assert_eq!(beta.peak, 8.0);
    assert_eq!(cluster.sub_clusters[1].footprint, ["load"]);
}

#[test]
fn removed_metrics_are_absent_from_the_sub_cluster() {
    let mut removed = document();
    removed["metricConfig"][0]["subClusters"] = json!([{"name": "beta", "remove": true}]);
    let cluster = parsed(&removed);
    assert!(cluster.sub_clusters[1].metric_config.is_empty());
    assert!(cluster.sub_clusters[1].footprint.is_empty());
    let json = go_json(&cluster);
    assert!(json.contains(concat!(
        r#""memoryBandwidth":{"unit":{"base":"F/s","prefix":"G"},"value":10},"#,
        r#""socketsPerNode":1"#
    )));
    assert_eq!(cluster.sub_clusters[0].metric_config.len(), 1);
}

#[test]
fn file_entries_of_a_sub_cluster_come_before_derived_ones() {
    let mut listed = document();
    let own_metric = json!({"name": "temp", "unit": {"base": "°C"}, "aggregation": "",
                            "timestep": 10, "peak": 90, "normal": 50, "caution": 80, "alert": 85});
    listed["subClusters"][0]["metricConfig"] = json!([own_metric]);
    listed["subClusters"][0]["footprint"] = json!(["temp"]);
    let cluster = parsed(&listed);
    let alpha = &cluster.sub_clusters[0];
    assert_eq!(names(&alpha.metric_config), ["temp", "load"]);
    assert_eq!(alpha.metric_config[0].scope, MetricScope::Node);
    assert_eq!(alpha.metric_config[0].aggregation, Aggregation::None);
    assert_eq!(alpha.footprint, ["temp", "load"]);
}

#[test]
fn empty_or_missing_scope_becomes_node() {
    for scope in [Some(""), None] {
        let mut unscoped = document();
        let metric = unscoped["metricConfig"][0].as_object_mut().expect("object");
        match scope {
            Some(scope) => metric.insert("scope".into(), json!(scope)),
            None => metric.remove("scope"),
        };
        let cluster = parsed(&unscoped);
        assert_eq!(cluster.metric_config[0].scope, MetricScope::Node);
        assert!(go_json(&cluster).contains(r#""scope":"node","aggregation":"avg""#));
    }
}

#[test]
fn invalid_documents_are_reported_with_file_and_field() {
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut doc = document();
                doc["name"] = json!("");
                doc
            },
            "mini/cluster.json: name: must not be empty",
        ),
        (
            {
                let mut doc = document();
                doc["metricConfig"] = json!([]);
                doc
            },
            "mini/cluster.json: metricConfig: must contain at least one entry",
        ),
        (
            {
                let mut doc = document();
                doc["metricConfig"][0]["timestep"] = json!(0);
                doc
            },
            "mini/cluster.json: metricConfig[0].timestep: must be at least 1, found 0",
        ),
        (
            {
                let mut doc = document();
                doc["metricConfig"][0]["footprint"] = json!("median");
                doc
            },
            "mini/cluster.json: metricConfig[0].footprint: \"median\" is not one of \"\", \"avg\", \"min\", \"max\"",
        ),
        (
            {
                let mut doc = document();
                doc["subClusters"][1]["nodes"] = json!("m[05-8]");
                doc
            },
            "mini/cluster.json: subClusters[1].nodes: invalid host list \"m[05-8]\": \"05\" and \"8\" are not of equal length or of length zero",
        ),
        (
            {
                let mut doc = document();
                doc["subClusters"][0]
                    .as_object_mut()
                    .expect("object")
                    .remove("topology");
                doc
            },
            "mini/cluster.json: subClusters[0].topology: required key is missing",
        ),
    ];
    for (document, expected) in cases {
        let error = parse(&document).expect_err(expected);
        assert!(matches!(error, ClusterError::Invalid { .. }), "{error:?}");
        assert_eq!(error.to_string(), expected);
    }
}

#[test]
fn malformed_json_names_the_file() {
    let error = parse_cluster(Path::new("x/cluster.json"), b"{\"name\": ").expect_err("truncated");
    assert!(matches!(error, ClusterError::Json { .. }), "{error:?}");
    assert!(error.to_string().starts_with("x/cluster.json: "), "{error}");
}

#[test]
fn single_cluster_lookup_never_leaves_the_root() {
    let root = sample_clusters();
    for name in [
        "",
        ".",
        "..",
        "../clusters",
        "../../clusters/emmy",
        "emmy/",
        "emmy/../fritz",
        "/etc",
        ".hidden",
        "nope",
        "version.txt",
        "LICENSE-cc-lib",
        "emmy\0",
        "émmy",
    ] {
        match load_cluster(&root, name) {
            Err(ClusterError::UnknownCluster(unknown)) => assert_eq!(unknown, name),
            other => panic!("{name:?}: {other:?}"),
        }
    }
    assert_eq!(
        load_cluster(&root, "../x")
            .expect_err("unknown")
            .to_string(),
        "unknown cluster: ../x"
    );
}

struct ScratchDir(tempfile::TempDir);

impl ScratchDir {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("scratch dir"))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn add_cluster(&self, directory: &str, document: &Value) {
        let dir = self.path().join(directory);
        fs::create_dir_all(&dir).expect("cluster dir");
        fs::write(
            dir.join("cluster.json"),
            serde_json::to_vec(document).expect("serializable"),
        )
        .expect("write");
    }
}

#[test]
fn directory_name_must_equal_cluster_name() {
    let scratch = ScratchDir::new();
    scratch.add_cluster("other", &document());
    let error = load_clusters(scratch.path()).expect_err("mismatch");
    assert!(
        matches!(&error, ClusterError::NameMismatch { name, directory, .. }
            if name == "mini" && directory == "other"),
        "{error:?}"
    );
    assert!(matches!(
        load_cluster(scratch.path(), "other"),
        Err(ClusterError::NameMismatch { .. })
    ));
}

#[test]
fn every_cluster_directory_needs_a_configuration() {
    let scratch = ScratchDir::new();
    scratch.add_cluster("mini", &document());
    fs::write(scratch.path().join("version.txt"), "3\n").expect("write");
    assert_eq!(load_clusters(scratch.path()).expect("loads").len(), 1);

    fs::create_dir(scratch.path().join("empty")).expect("dir");
    let error = load_clusters(scratch.path()).expect_err("no cluster.json");
    assert!(
        matches!(&error, ClusterError::Io { path, .. } if path.ends_with("empty/cluster.json")),
        "{error:?}"
    );
    assert!(matches!(
        load_cluster(scratch.path(), "empty"),
        Err(ClusterError::Io { .. })
    ));
}

#[test]
fn hidden_or_odd_directory_names_are_rejected() {
    let scratch = ScratchDir::new();
    scratch.add_cluster("mini", &document());
    fs::create_dir(scratch.path().join(".git")).expect("dir");
    let error = load_clusters(scratch.path()).expect_err("hidden directory");
    assert!(
        matches!(&error, ClusterError::InvalidDirectoryName(path) if path.ends_with(".git")),
        "{error:?}"
    );
}

#[test]
fn missing_root_is_an_io_error() {
    let error = load_clusters(&repo_dir("no-such-directory")).expect_err("missing");
    assert!(matches!(error, ClusterError::Io { .. }), "{error:?}");
}
