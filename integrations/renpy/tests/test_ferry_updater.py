"""
ferry_updater against a real Ferry repository server and the real `ferry agent`.

Driven by test/engines/renpy.test.ts, which publishes the releases, serves them on loopback behind a
proxy it controls, and passes:

  FERRY_BIN               a wrapper running the built ferry CLI
  FERRY_TEST_URL          the repository URL (through the proxy)
  FERRY_TEST_CONTROL      the proxy's control URL: GET count, POST stop|start|slow|fast
  FERRY_TEST_TRUST        the repository's root public key; FERRY_TEST_WRONG_TRUST another key
  FERRY_TEST_V1_INSTALL   an install of 1.0.0 (base package) to copy
  FERRY_TEST_V1_BUILD / FERRY_TEST_V2_BUILD  the build directories of 1.0.0 and 2.0.0
  FERRY_TEST_WORK         an empty directory for the installs the tests make

Without them every test here is skipped except the screen-file check (the Node test counts the passes).
"""

import json
import os
import shutil
import sys
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import ferry_updater  # noqa: E402
from ferry_updater import UpdateCancelled, UpdateError, Updater  # noqa: E402

ENV = os.environ
LIVE = all(
    k in ENV
    for k in ("FERRY_BIN", "FERRY_TEST_URL", "FERRY_TEST_CONTROL", "FERRY_TEST_TRUST", "FERRY_TEST_WORK")
)
DLC_PREFIX = "dlc/"
SKIP_DIRS = (".ferry", "update")


def tree(root, keep=lambda path: True):
    """release path -> bytes of every file under root, outside .ferry/ and update/ (the updater's cache)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            if rel == "ferry-packages.json" or not keep(rel):
                continue
            with open(os.path.join(dirpath, name), "rb") as f:
                out[rel] = f.read()
    return out


def release(build, with_dlc):
    return tree(build, (lambda p: True) if with_dlc else (lambda p: not p.startswith(DLC_PREFIX)))


def control(action):
    method = "GET" if action == "count" else "POST"
    req = urllib.request.Request(ENV["FERRY_TEST_CONTROL"] + action, method=method, data=None if method == "GET" else b"")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


def requests():
    return control("count")["requests"]


_n = [0]


def fresh_dir(name):
    _n[0] += 1
    path = os.path.join(ENV["FERRY_TEST_WORK"], "%s-%d" % (name, _n[0]))
    assert not os.path.exists(path)
    return path


def v1_copy(name):
    path = fresh_dir(name)
    shutil.copytree(ENV["FERRY_TEST_V1_INSTALL"], path, symlinks=True)
    return path


def kw(**extra):
    d = {"public_key": ENV["FERRY_TEST_TRUST"]}
    d.update(extra)
    return d


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out after %s s waiting for %s" % (timeout, what))


@unittest.skipUnless(LIVE, "needs the environment set by test/engines/renpy.test.ts")
class UpdateTest(unittest.TestCase):
    url = ENV.get("FERRY_TEST_URL")

    def test_update_from_nothing_installs_the_release(self):
        base = fresh_dir("fresh")
        self.assertEqual(ferry_updater.get_installed_packages(base), [])
        self.assertFalse(ferry_updater.can_update(base))
        u = ferry_updater.update(self.url, base=base, restart=False, **kw())
        self.assertEqual(u.state, Updater.DONE_NO_RESTART)
        self.assertEqual(u.version, "2.0.0")
        self.assertIsNone(u.message)
        self.assertEqual(tree(base), release(ENV["FERRY_TEST_V2_BUILD"], with_dlc=False))
        self.assertEqual(ferry_updater.get_installed_packages(base), ["base"])
        self.assertTrue(ferry_updater.can_update(base))
        # Up to date now: a second update reports it and changes nothing.
        again = ferry_updater.update(self.url, base=base, restart=False, **kw())
        self.assertEqual(again.state, Updater.UPDATE_NOT_AVAILABLE)

    def test_update_v1_to_v2_with_progress(self):
        base = v1_copy("v1v2")
        self.assertEqual(tree(base), release(ENV["FERRY_TEST_V1_BUILD"], with_dlc=False))
        seen = []
        u = Updater(self.url, base=base, restart=False, confirm=True, **kw())
        wait_for(lambda: u.state in (Updater.UPDATE_AVAILABLE,) + Updater.TERMINAL, 60, "UPDATE_AVAILABLE")
        self.assertEqual(u.state, Updater.UPDATE_AVAILABLE, u.message)
        self.assertEqual(u.version, "2.0.0")
        self.assertTrue(u.can_proceed)
        u.proceed()
        while u.is_alive():
            if u.progress is not None:
                seen.append(u.progress)
            time.sleep(0.005)
        self.assertEqual(u.state, Updater.DONE_NO_RESTART, u.message)
        self.assertEqual(tree(base), release(ENV["FERRY_TEST_V2_BUILD"], with_dlc=False))
        self.assertIn(Updater.DOWNLOADING, u.states_seen)
        self.assertGreater(u.download_total or 0, 0)
        self.assertTrue(all(0.0 <= p <= 1.0 for p in seen), seen)
        self.assertEqual(ferry_updater.get_installed_packages(base), ["base"])

    def test_dlc_via_add_during_an_update(self):
        base = v1_copy("dlc")
        u = ferry_updater.update(self.url, base=base, add=["dlc"], restart=False, **kw())
        self.assertEqual(u.state, Updater.DONE_NO_RESTART, u.message)
        self.assertEqual(tree(base), release(ENV["FERRY_TEST_V2_BUILD"], with_dlc=True))
        self.assertEqual(sorted(ferry_updater.get_installed_packages(base)), ["base", "dlc"])

    def test_dlc_via_add_when_up_to_date(self):
        base = fresh_dir("dlc-later")
        ferry_updater.update(self.url, base=base, restart=False, **kw())
        self.assertEqual(ferry_updater.get_installed_packages(base), ["base"])
        u = ferry_updater.update(self.url, base=base, add=["dlc"], restart=False, **kw())
        self.assertEqual(u.state, Updater.DONE_NO_RESTART, u.message)
        self.assertIsNotNone(u.packages_result)
        self.assertIn(Updater.DOWNLOADING, u.states_seen)
        self.assertIn(Updater.FINISHING, u.states_seen)
        self.assertGreater(u.download_total or 0, 0)
        self.assertEqual(u.download_done, u.download_total)
        self.assertEqual(tree(base), release(ENV["FERRY_TEST_V2_BUILD"], with_dlc=True))
        self.assertEqual(sorted(ferry_updater.get_installed_packages(base)), ["base", "dlc"])

    def test_unknown_dlc_is_an_error_with_its_code(self):
        base = fresh_dir("dlc-unknown")
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.update(self.url, base=base, add=["no-such-package"], restart=False, **kw())
        self.assertEqual(cm.exception.code, "E_USAGE")
        self.assertIn("no-such-package", cm.exception.message)

    def test_bad_trust_key_surfaces_the_error_code(self):
        # An install refuses a key it was not installed with (E_KEY), before any download.
        base = v1_copy("badkey")
        before = tree(base)
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.update(self.url, base=base, restart=False, public_key=ENV["FERRY_TEST_WRONG_TRUST"])
        self.assertEqual(cm.exception.code, "E_KEY", cm.exception.message)
        u = Updater(self.url, base=base, restart=False, confirm=False, public_key=ENV["FERRY_TEST_WRONG_TRUST"])
        u.join(60)
        self.assertEqual(u.state, Updater.ERROR)
        self.assertIn("E_KEY", u.message)
        self.assertEqual(u.error.code, "E_KEY")
        self.assertTrue(u.can_proceed)
        self.assertFalse(u.can_cancel)
        self.assertEqual(tree(base), before)
        # A first install with the wrong key: the release's signature does not verify.
        fresh = fresh_dir("badkey-fresh")
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.update(self.url, base=fresh, restart=False, public_key=ENV["FERRY_TEST_WRONG_TRUST"])
        self.assertEqual(cm.exception.code, "E_SIGNATURE", cm.exception.message)
        self.assertEqual(tree(fresh), {})

    def test_missing_key_file_is_a_usage_error(self):
        base = fresh_dir("nokey")
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.update(self.url, base=base, restart=False, public_key=os.path.join(base, "absent.pub"))
        self.assertEqual(cm.exception.code, "E_USAGE")
        self.assertIn("absent.pub", cm.exception.message)


@unittest.skipUnless(LIVE, "needs the environment set by test/engines/renpy.test.ts")
class SimulateTest(unittest.TestCase):
    url = ENV.get("FERRY_TEST_URL")

    def test_simulate_available_runs_every_state_without_touching_the_install(self):
        base = v1_copy("sim-available")
        before = tree(base)
        n = requests()
        u = Updater(self.url, base=base, simulate="available", restart=False, **kw())
        wait_for(lambda: u.state in (Updater.UPDATE_AVAILABLE,) + Updater.TERMINAL, 60, "UPDATE_AVAILABLE")
        self.assertEqual(u.state, Updater.UPDATE_AVAILABLE, u.message)
        self.assertIsNotNone(u.version)
        u.proceed()
        u.join(120)
        self.assertEqual(u.state, Updater.DONE_NO_RESTART, u.message)
        self.assertIn(Updater.DOWNLOADING, u.states_seen)
        self.assertEqual(tree(base), before)
        self.assertEqual(requests(), n, "a simulated update makes no request")

    def test_simulate_not_available(self):
        base = v1_copy("sim-none")
        u = ferry_updater.update(self.url, base=base, simulate="not_available", restart=False, **kw())
        self.assertEqual(u.state, Updater.UPDATE_NOT_AVAILABLE)
        self.assertTrue(u.can_proceed)

    def test_simulate_error(self):
        base = v1_copy("sim-error")
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.update(self.url, base=base, simulate="error", restart=False, **kw())
        self.assertEqual(cm.exception.code, "E_NETWORK")
        self.assertIn("imulated", cm.exception.message)

    def test_simulate_rejects_an_unknown_mode(self):
        with self.assertRaises(UpdateError) as cm:
            Updater(self.url, base=fresh_dir("sim-bad"), simulate="maybe", **kw())
        self.assertEqual(cm.exception.code, "E_USAGE")

    def test_update_version_simulated(self):
        base = v1_copy("sim-version")
        ferry_updater._new_session()
        self.assertIsNone(ferry_updater.UpdateVersion(self.url, simulate="available", base=base, **kw()))
        self.assertTrue(ferry_updater.wait_update_version(60))
        self.assertIsNotNone(ferry_updater.UpdateVersion(self.url, simulate="available", base=base, **kw()))
        ferry_updater._new_session()
        ferry_updater.UpdateVersion(self.url, check_interval=0, simulate="not_available", base=base, **kw())
        self.assertTrue(ferry_updater.wait_update_version(60))
        self.assertIsNone(ferry_updater.UpdateVersion(self.url, simulate="not_available", base=base, **kw()))


@unittest.skipUnless(LIVE, "needs the environment set by test/engines/renpy.test.ts")
class UpdateVersionTest(unittest.TestCase):
    url = ENV.get("FERRY_TEST_URL")

    def tearDown(self):
        control("start")

    def test_cached_interval_and_server_down(self):
        base = v1_copy("version")
        ferry_updater._new_session()
        # Never checked: None at once, the answer arrives in the background.
        self.assertIsNone(ferry_updater.UpdateVersion(self.url, check_interval=3600, base=base, **kw()))
        self.assertTrue(ferry_updater.wait_update_version(60))
        n1 = requests()
        started = ferry_updater.checks_started
        self.assertEqual(ferry_updater.UpdateVersion(self.url, check_interval=3600, base=base, **kw()), "2.0.0")
        self.assertTrue(ferry_updater.wait_update_version(60))
        self.assertEqual(requests(), n1, "the same session does not check again")
        self.assertEqual(ferry_updater.checks_started, started, "nor starts an agent")

        # A new session inside check_interval answers from the persisted cache, without a request and
        # without starting an agent (whose own check cache would also answer without a request).
        ferry_updater._new_session()
        self.assertEqual(ferry_updater.UpdateVersion(self.url, check_interval=3600, base=base, **kw()), "2.0.0")
        self.assertTrue(ferry_updater.wait_update_version(60))
        self.assertEqual(requests(), n1, "a check younger than check_interval is not repeated")
        self.assertEqual(ferry_updater.checks_started, started, "no agent started inside check_interval")

        # Once the interval has passed (here: 1 s), a new session checks again.
        time.sleep(1.2)
        ferry_updater._new_session()
        self.assertEqual(ferry_updater.UpdateVersion(self.url, check_interval=1, base=base, **kw()), "2.0.0")
        self.assertTrue(ferry_updater.wait_update_version(60))
        n2 = requests()
        self.assertGreater(n2, n1, "an expired check asks the server again")
        self.assertEqual(ferry_updater.checks_started, started + 1)

        # Server down: the cached version is still the answer, before and after the failed check.
        control("stop")
        time.sleep(1.2)
        ferry_updater._new_session()
        self.assertEqual(ferry_updater.UpdateVersion(self.url, check_interval=1, base=base, **kw()), "2.0.0")
        self.assertTrue(ferry_updater.wait_update_version(60))
        self.assertEqual(ferry_updater.UpdateVersion(self.url, check_interval=1, base=base, **kw()), "2.0.0")
        with open(os.path.join(base, "update", "ferry-updater.json")) as f:
            cache = json.load(f)
        entry = cache[self.url + "|"]
        self.assertIs(entry.get("stale"), True, entry)

        # A plain check with the server down gets the agent's last answer, marked stale ...
        u = Updater(self.url, base=base, check_only=True, restart=False, **kw())
        u.join(60)
        self.assertEqual(u.state, Updater.UPDATE_AVAILABLE, u.message)
        self.assertTrue(u.check_result.get("stale"), u.check_result)
        self.assertEqual(u.version, "2.0.0")
        # ... and where there is no answer to fall back on, it fails with a network code, never silently.
        fresh = fresh_dir("version-down")
        u = Updater(self.url, base=fresh, check_only=True, restart=False, **kw())
        u.join(60)
        self.assertEqual(u.state, Updater.ERROR)
        self.assertIn(u.error.code, ("E_NETWORK", "E_TIMEOUT"), u.message)

    def test_not_installed_gives_none_without_a_check(self):
        base = fresh_dir("version-none")
        ferry_updater._new_session()
        n = requests()
        self.assertIsNone(ferry_updater.UpdateVersion(self.url, base=base, **kw()))
        self.assertTrue(ferry_updater.wait_update_version(60))
        self.assertEqual(requests(), n)


@unittest.skipUnless(LIVE, "needs the environment set by test/engines/renpy.test.ts")
class CancelTest(unittest.TestCase):
    url = ENV.get("FERRY_TEST_URL")

    def tearDown(self):
        control("fast")

    def test_cancel_during_download_leaves_the_old_release(self):
        base = v1_copy("cancel")
        v1 = tree(base)
        control("slow")
        u = Updater(self.url, base=base, confirm=False, restart=False, **kw())
        wait_for(lambda: (u.download_done or 0) > 0 or u.state in Updater.TERMINAL, 120, "download progress")
        self.assertEqual(u.state, Updater.DOWNLOADING, u.message)
        self.assertTrue(u.can_cancel)
        u.cancel()
        u.join(120)
        self.assertFalse(u.is_alive())
        self.assertEqual(u.state, Updater.CANCELLED, u.message)
        self.assertEqual(tree(base), v1, "a cancelled update leaves the old release, byte for byte")
        self.assertEqual(ferry_updater.get_installed_packages(base), ["base"])
        self.assertTrue(ferry_updater.can_update(base), "the lock is released")
        # And the next update completes (resuming what was downloaded).
        control("fast")
        done = ferry_updater.update(self.url, base=base, restart=False, **kw())
        self.assertEqual(done.state, Updater.DONE_NO_RESTART)
        self.assertEqual(tree(base), release(ENV["FERRY_TEST_V2_BUILD"], with_dlc=False))

    def test_outside_renpy_update_raises_update_cancelled(self):
        base = v1_copy("cancel-raise")
        control("slow")
        box = {}

        def run():
            try:
                box["u"] = ferry_updater.update(self.url, base=base, restart=False, **kw())
            except BaseException as e:  # The test inspects what update() raised.
                box["e"] = e

        # update() blocks; the Updater it drives is reachable through the cancel hook below.
        original = Updater.__init__
        made = []

        def spy(self, *a, **k):
            original(self, *a, **k)
            made.append(self)

        Updater.__init__ = spy
        try:
            t = threading.Thread(target=run)
            t.start()
            wait_for(lambda: made and (made[0].download_done or 0) > 0, 120, "download progress")
        finally:
            Updater.__init__ = original
        made[0].cancel()
        t.join(120)
        self.assertIsInstance(box.get("e"), UpdateCancelled)


@unittest.skipUnless(LIVE, "needs the environment set by test/engines/renpy.test.ts")
class AgentStartTest(unittest.TestCase):
    url = ENV.get("FERRY_TEST_URL")

    def test_a_trust_file_the_agent_refuses_is_its_error_code(self):
        base = fresh_dir("garbage-key")
        os.makedirs(base)
        key = os.path.join(base, "garbage.pub")
        with open(key, "w") as f:
            f.write("not a key\n")
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.Agent(self.url, base, public_key=key)
        self.assertEqual(cm.exception.code, "E_KEY")
        self.assertIn("garbage.pub", cm.exception.message)

    def test_hello_calls_and_clean_exit(self):
        base = v1_copy("agent")
        with ferry_updater.Agent(self.url, base, public_key=ENV["FERRY_TEST_TRUST"]) as agent:
            self.assertEqual(agent.hello["protocol"], 1)
            self.assertIn("update", agent.hello["methods"])
            # One after the other: concurrent reads inside one agent can meet each other's install lock
            # (E_LOCKED, seen with the agent of h-agent 01a8985); cancel during update is tested below.
            out = {m: agent.call(m) for m in ("status", "canUpdate", "packages.list")}
            self.assertEqual(out["status"]["version"], "1.0.0")
            self.assertIs(out["canUpdate"]["ok"], True)
            self.assertEqual(sorted((p["name"], p["installed"]) for p in out["packages.list"]), [("base", True), ("dlc", False)])
            with self.assertRaises(UpdateError) as cm:
                agent.call("no.such.method")
            self.assertEqual(cm.exception.code, "E_USAGE")
        self.assertIsNotNone(agent.proc.returncode, "the agent exits when its stdin closes")
        self.assertEqual(agent.proc.returncode, 0)


class FindFerryTest(unittest.TestCase):
    """Where the ferry executable is looked for (no agent needed)."""

    def setUp(self):
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="ferry-find-")
        self.saved = {k: os.environ.get(k) for k in ("FERRY_BIN", "PATH")}
        os.environ.pop("FERRY_BIN", None)
        empty = os.path.join(self.dir, "empty-path")
        os.makedirs(empty)
        os.environ["PATH"] = empty

    def tearDown(self):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(self.dir)

    def exe(self, *parts):
        path = os.path.join(self.dir, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(path, 0o755)
        return path

    def test_lookup_order(self):
        game = os.path.join(self.dir, "game")
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.find_ferry(game)
        self.assertEqual(cm.exception.code, "E_USAGE")
        self.assertIn(os.path.join(game, "ferry"), cm.exception.message)
        on_path = self.exe("empty-path", "ferry")
        self.assertEqual(ferry_updater.find_ferry(game), on_path)
        in_platform_lib = self.exe("game", "lib", "py3-linux-x86_64", "ferry")
        self.assertEqual(ferry_updater.find_ferry(game), in_platform_lib)
        in_lib = self.exe("game", "lib", "ferry")
        self.assertEqual(ferry_updater.find_ferry(game), in_lib)
        beside = self.exe("game", "ferry")
        self.assertEqual(ferry_updater.find_ferry(game), beside)
        env = self.exe("elsewhere", "ferry-bin")
        os.environ["FERRY_BIN"] = env
        self.assertEqual(ferry_updater.find_ferry(game), env)
        os.environ["FERRY_BIN"] = os.path.join(self.dir, "absent")
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.find_ferry(game)
        self.assertIn("FERRY_BIN", cm.exception.message)

    def test_an_executable_that_cannot_run_is_e_agent(self):
        game = os.path.join(self.dir, "game")
        os.makedirs(game)
        bad = os.path.join(self.dir, "not-a-program")
        with open(bad, "wb") as f:
            f.write(b"\x00\x01\x02")
        os.chmod(bad, 0o755)
        os.environ["FERRY_BIN"] = bad
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.get_installed_packages(game)
        self.assertEqual(cm.exception.code, "E_AGENT")
        self.assertIn("not-a-program", cm.exception.message)
        key = os.path.join(self.dir, "k.pub")
        with open(key, "w") as f:
            f.write("x\n")
        with self.assertRaises(UpdateError) as cm:
            ferry_updater.Agent("http://127.0.0.1:9/", game, public_key=key)
        self.assertEqual(cm.exception.code, "E_AGENT")

    def test_a_file_without_execute_permission_is_skipped(self):
        game = os.path.join(self.dir, "game")
        os.makedirs(game)
        with open(os.path.join(game, "ferry"), "w") as f:
            f.write("not executable")
        with self.assertRaises(UpdateError):
            ferry_updater.find_ferry(game)


class ScreenFileTest(unittest.TestCase):
    """ferry_updater_screen.rpy cannot run without Ren'Py: check its text by a hand-written reader."""

    def test_screen_file_structure(self):
        path = os.path.join(os.path.dirname(HERE), "ferry_updater_screen.rpy")
        with open(path) as f:
            lines = f.read().split("\n")
        stack = [0]
        opened = False
        blocks = []
        for number, line in enumerate(lines, 1):
            where = "%s:%d" % (os.path.basename(path), number)
            self.assertNotIn("\t", line, where + ": Ren'Py forbids tabs")
            if not line.strip() or line.strip().startswith("#"):
                continue
            indent = len(line) - len(line.lstrip(" "))
            if opened:
                self.assertGreater(indent, stack[-1], where + ": a block must be indented")
                stack.append(indent)
                opened = False
            else:
                while indent < stack[-1]:
                    stack.pop()
                self.assertEqual(indent, stack[-1], where + ": dedent to no enclosing level")
            text = line.strip()
            self.assertEqual(text.replace('"""', "").count('"') % 2, 0, where + ": unbalanced quotes")
            self.assertEqual(text.count("(") - text.count(")"), 0, where + ": unbalanced parentheses")
            if text.endswith(":"):
                opened = True
                blocks.append(text)
        self.assertFalse(opened, "the file ends with an empty block")
        self.assertIn("screen ferry_updater(u):", blocks)
        # Every state the screen names exists on the Updater, and every Updater state is shown.
        body = "\n".join(lines)
        import re

        named = set(re.findall(r"u\.([A-Z_]+)\b", body))
        states = set(k for k in dir(Updater) if k.isupper() and k != "TERMINAL")
        self.assertEqual(named - states, set(), "states the Updater does not have")
        self.assertEqual(states - named, set(), "states the screen does not show")
        for attr in re.findall(r"u\.([a-z_]+)\b", body):
            self.assertTrue(
                hasattr(Updater, attr) or attr in ("state", "message", "progress", "version", "can_proceed", "can_cancel",
                                                   "download_done", "download_total", "eta_seconds", "bytes_per_second"),
                "the screen reads u.%s, which the Updater lacks" % attr,
            )


if __name__ == "__main__":
    unittest.main()
