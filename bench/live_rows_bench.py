"""A 1,000-row page under churn: what live frames cost the browser, with and without element swaps.
Not part of the tests; run it with

    .venv/bin/python bench/live_rows_bench.py [--pods 1000] [--rate 200] [--seconds 10] [--rounds 2]

Its own Redis and temporary PODIUM_VAR_DIR. democluster's scale mode makes one Deployment with PODS Pods and
flips RATE Pods' readiness a second (``--churn-mix ready``: every change shows in a Pod's row, none comes or goes).
A Celery worker mirrors it; two ASGI servers serve the same database, one with ``PODIUM_LIVE_ELEMENT_SWAPS=false``
(each changed partial sent whole: the baseline) and one with it on (only the rows and elements that changed).
Headless Chromium opens the Deployment's page with every Pod shown (``?pods=all``) on each server in turn, ROUNDS
times, and for SECONDS records:

- long tasks over 50 ms on the page's main thread (a ``PerformanceObserver``), per 10 s, and their total time;
- frames and bytes a second received on the live socket, and Pod rows changed in the DOM a second (each row in
  an applied frame: static/podium/frames.js's "podium:frame");
- the ASGI server's CPU time a second.

The goal (issue 16, P5): at most one long task over 50 ms per 10 s at 200 row changes a second.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.worker_support import cpu_seconds, finish, prepare  # noqa: E402 - before Django's settings

TMP = prepare("podium-live-rows-bench-")

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.support.stack import AsgiServer, CeleryWorker, Democluster, wait_for  # noqa: E402
from workloads.models import Cluster, Pod  # noqa: E402

NAMESPACE, NAME = "scale-a", "app-00000"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
]
RECORD = """
window.__bench = {longTasks: [], frames: 0, bytes: 0, rows: 0, counting: false};
new PerformanceObserver((list) => {
  if (!window.__bench.counting) return;
  for (const e of list.getEntries()) window.__bench.longTasks.push(e.duration);
}).observe({type: "longtask", buffered: false});
document.addEventListener("podium:frame", (event) => {
  if (!window.__bench.counting) return;
  window.__bench.frames += 1;
  window.__bench.bytes += event.detail.bytes;
});
document.addEventListener("podium:frame", (event) => {
  if (!window.__bench.counting) return;
  for (const n of event.detail.elements) {
    if (n.matches("tr.pod-row")) window.__bench.rows += 1;
    else window.__bench.rows += n.querySelectorAll("tr.pod-row").length;
  }
});
"""


def measure(context: object, asgi: AsgiServer, seconds: float) -> dict[str, float]:
    page = context.new_page()
    page.add_init_script(RECORD)
    page.goto(f"{asgi.url}/c/bench/ns/{NAMESPACE}/deployment/{NAME}/?pods=all", timeout=120_000)
    page.wait_for_selector("#live-indicator[data-state=live]", timeout=60_000)
    page.wait_for_timeout(2000)  # let the first whole-page frame and its layout settle before counting
    cpu0, t0 = cpu_seconds(asgi.proc.pid), time.monotonic()
    page.evaluate("() => { window.__bench.counting = true; }")
    page.wait_for_timeout(seconds * 1000)
    got = page.evaluate("() => { window.__bench.counting = false; return window.__bench; }")
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(asgi.proc.pid) - cpu0
    rows_shown = page.locator("tr.pod-row").count()
    page.close()
    long_tasks = [d for d in got["longTasks"] if d > 50]
    return {
        "rows shown": rows_shown,
        "long tasks / 10 s": len(long_tasks) * 10 / elapsed,
        "long-task ms / 10 s": sum(long_tasks) * 10 / elapsed,
        "frames / s": got["frames"] / elapsed,
        "kB / s": got["bytes"] / 1000 / elapsed,
        "rows changed / s": got["rows"] / elapsed,
        "server CPU %": 100 * cpu / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="readiness flips a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    dc = Democluster(
        TMP,
        "--fresh",
        "--no-scenario",
        "--scale-workloads",
        "1",
        "--scale-pods",
        str(args.pods),
        "--churn",
        str(args.rate),
        "--churn-mix",
        "ready",
    ).start()
    processes: list[object] = [dc]
    try:
        cluster = Cluster.objects.create(
            name="bench", connection=Cluster.Connection.DEMOCLUSTER, kubeconfig_path=str(dc.kubeconfig)
        )
        processes.append(CeleryWorker(TMP).start())
        wait_for(
            lambda: Pod.objects.filter(cluster=cluster, deleted_at__isnull=True).count() >= args.pods,
            timeout=300,
            what="the mirror",
        )
        servers = {
            "whole partials": AsgiServer(TMP, PODIUM_LIVE_ELEMENT_SWAPS="false").start(),
            "element swaps": AsgiServer(TMP, PODIUM_LIVE_ELEMENT_SWAPS="true").start(),
        }
        processes += servers.values()
        user = User.objects.create_user("bench-viewer", password="correct horse battery staple")
        user.groups.add(Group.objects.get(name="viewer"))
        client = Client()
        client.force_login(user)
        session = client.cookies["sessionid"].value
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in servers}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": asgi.url} for asgi in servers.values()])
            for round_ in range(args.rounds):
                for mode, asgi in servers.items():
                    print(f"... round {round_ + 1}, {mode}", flush=True)
                    results[mode].append(measure(context, asgi, args.seconds))
            browser.close()
        load = Path("/proc/loadavg").read_text().split()[0]
        print(f"\n{args.pods} Pods shown, {args.rate:g} readiness flips/s, {args.seconds:g} s a run, load {load}")
        keys = list(next(iter(results.values()))[0])
        print(f"{'':24}" + "".join(f"{mode:>28}" for mode in results) + f"{'ratio':>10}")
        for key in keys:
            cells = [" / ".join(f"{r[key]:.1f}" for r in runs) for runs in results.values()]
            means = [statistics.mean(r[key] for r in runs) for runs in results.values()]
            ratio = f"{means[1] / means[0]:.2f}" if means[0] else "–"
            print(f"{key:24}" + "".join(f"{c:>28}" for c in cells) + f"{ratio:>10}")
    finally:
        for process in reversed(processes):
            process.stop()
        finish(TMP)


if __name__ == "__main__":
    main()
