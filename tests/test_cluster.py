"""Worker processes end with the process that started them (issue 13: train-many workers outlived a killed parent)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from attentivechrome._io import process_alive

_PARENT = textwrap.dedent(
    """
    import multiprocessing, sys

    def child():
        from attentivechrome.cluster import die_with_parent
        die_with_parent()
        print("ready", flush=True)
        sum(range(10**13))  # one C call that holds the GIL: no Python thread could act, only the kernel

    if __name__ == "__main__":
        process = multiprocessing.get_context("spawn").Process(target=child)
        process.start()
        print(process.pid, flush=True)
        process.join()
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_worker_dies_with_its_parent_even_while_holding_the_gil(tmp_path, how):
    script = tmp_path / "parent.py"  # spawned children import the parent's main module by path
    script.write_text(_PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # inside the long call now
        assert process_alive(child)
        parent.send_signal(how)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 3
        while process_alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_alive(child), "the worker outlived its parent"
    finally:
        parent.kill()
        parent.wait()


def test_local_cluster_tasks_are_wrapped_to_die_with_the_parent(monkeypatch):
    import pickle

    from attentivechrome import cluster

    calls = []
    monkeypatch.setattr(cluster, "die_with_parent", lambda: calls.append("watching"))  # not in the test process itself
    task = pickle.loads(pickle.dumps(cluster._DieWithParent(len)))  # sent to workers as it is
    assert task([1, 2, 3]) == 3 and task.__name__ == "len" and calls == ["watching"]
