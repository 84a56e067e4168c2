"""The Grafana dashboard (deploy/grafana/tidemark.json) is valid JSON, queries only series the code
registers and shows every one of Tidemark's own; the compose scrape configuration finds every
service on the port compose gives it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

import tidemark_gateway.entrypoints.app  # noqa: F401  (every module that registers series, imported)
import tidemark_ingest.entrypoints.app  # noqa: F401
import tidemark_runtime.projections.service  # noqa: F401
from tidemark_runtime.observability.metrics import TIDEMARK_METRICS, exposed_names

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "tidemark.json"
SCRAPE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
SERIES = re.compile(r"\b((?:tidemark|process)_[a-z0-9_]+)\b")


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert panels and all(panel.get("targets") for panel in panels), "every panel queries something"
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_every_series_the_dashboard_queries_is_one_the_code_registers():
    queried = {name for expr in queries() for name in SERIES.findall(expr)}
    assert queried, "the dashboard queries no series"
    assert queried - exposed_names() == set()


def test_the_dashboard_shows_every_tidemark_series():
    queried = {name for expr in queries() for name in SERIES.findall(expr)}
    shown = {metric._name for metric in TIDEMARK_METRICS
             if any(name == metric._name or name.startswith(metric._name + "_") for name in queried)}
    assert shown == {metric._name for metric in TIDEMARK_METRICS}


def test_the_scrape_configuration_finds_each_service_on_its_compose_port():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    scraped = {
        job["job_name"]: (config["names"], config["port"])
        for job in yaml.safe_load(SCRAPE.read_text())["scrape_configs"] for config in job["dns_sd_configs"]
    }
    assert scraped == {
        f"tidemark-{service}": ([service], int(compose["services"][service]["environment"]["PORT"]))
        for service in ("ingest", "gateway", "metrics", "statutory")
    }
    mounted = compose["services"]["prometheus"]["volumes"][0].split(":")[0]
    assert (ROOT / mounted).resolve() == SCRAPE
