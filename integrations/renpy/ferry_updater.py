"""
Ren'Py's ``updater`` API backed by Ferry.

The functions and the ``Updater`` object have the names, arguments and state names of Ren'Py's own
updater (renpy/common/00updater.rpy), so a game's screens and calls keep working, but the work is done by
``ferry agent`` (docs/AGENT.md), spoken to as JSON lines over its stdin/stdout: every byte is verified
against the signed release and every update ends with the install exactly old or exactly new.

Differences from Ren'Py's updater:

- ``url`` is the Ferry repository URL (the directory holding ``channels/``), not an ``updates.json``;
- ``public_key`` is the path of the trusted Ferry root key (``ferry.pub``) or root file (``root/1.json``);
  without it, ``ferry.pub`` or ``root.json`` in the base directory or its ``game/`` directory is used;
- the ``ferry`` executable is found through ``FERRY_BIN``, next to the game, or on ``PATH``.

Pure Python 3 standard library; runs inside Ren'Py (Python 3.9+) and without it.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time

__all__ = [
    "UpdateError",
    "UpdateCancelled",
    "Updater",
    "Agent",
    "update",
    "can_update",
    "get_installed_packages",
    "UpdateVersion",
    "wait_update_version",
    "find_ferry",
]

PROTOCOL = 1

try:  # Inside Ren'Py (a .rpy `init python` block imports us): use its base directory and restarts.
    import renpy.config as _renpy_config  # type: ignore
    import renpy.exports as renpy  # type: ignore  # What the store calls `renpy` (renpy/defaultstore.py).

    _IN_RENPY = True
except ImportError:  # Plain Python: tests, tools.
    renpy = None
    _renpy_config = None
    _IN_RENPY = False


class UpdateError(Exception):
    """
    An update, check or query failed. ``code`` is Ferry's stable error code (README "Error codes", e.g.
    ``E_SIGNATURE``, ``E_NETWORK``, ``E_NOT_INSTALLED``), ``message`` says what failed and what to do,
    ``data`` holds the agent's details.
    """

    def __init__(self, code, message, data=None):
        Exception.__init__(self, "%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.data = data or {}


class UpdateCancelled(Exception):
    """The update was cancelled; the install holds exactly its old release."""


def _restart_interaction():
    if _IN_RENPY:
        try:
            renpy.restart_interaction()
        except Exception:  # Called from a thread before the interface exists: the timer redraws later.
            pass


def _default_base(base):
    if base is not None:
        return os.path.abspath(base)
    if _IN_RENPY:
        return os.path.abspath(_renpy_config.basedir)
    raise UpdateError(
        "E_USAGE",
        "No base directory: outside Ren'Py, pass base= (the directory of the game Ferry installs into).",
    )


def find_ferry(base=None):
    """
    The ``ferry`` executable: ``FERRY_BIN`` if set, else ``ferry`` (``ferry.exe``) in the game's base
    directory, its ``lib/`` directory or a ``lib/<platform>/`` directory under it, else on ``PATH``.
    Raises UpdateError(E_USAGE) naming the places looked at when there is none.
    """
    env = os.environ.get("FERRY_BIN")
    if env:
        if not os.path.isfile(env):
            raise UpdateError("E_USAGE", "FERRY_BIN is %r, which is not a file. Point it at the ferry executable." % env)
        return env
    names = ["ferry.exe", "ferry"] if os.name == "nt" else ["ferry"]
    looked = []
    if base is not None:
        dirs = [base, os.path.join(base, "lib")]
        lib = os.path.join(base, "lib")
        if os.path.isdir(lib):
            dirs += [os.path.join(lib, d) for d in sorted(os.listdir(lib)) if os.path.isdir(os.path.join(lib, d))]
        for d in dirs:
            for n in names:
                candidate = os.path.join(d, n)
                looked.append(candidate)
                if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                    return candidate
    found = shutil.which("ferry")
    if found:
        return found
    raise UpdateError(
        "E_USAGE",
        "No ferry executable: FERRY_BIN is not set, none of %s exists, and PATH has none. Ship the ferry "
        "executable next to the game (docs/engines/renpy.md) or set FERRY_BIN." % (", ".join(looked) or "(no base)"),
    )


def _find_trust(base, public_key):
    """The trust file to pass as --trust: public_key resolved against base/game, base, then as given."""
    if public_key is not None:
        candidates = [public_key]
        if not os.path.isabs(public_key):
            candidates = [os.path.join(base, "game", public_key), os.path.join(base, public_key), public_key]
        for c in candidates:
            if os.path.isfile(c):
                return os.path.abspath(c)
        raise UpdateError(
            "E_USAGE",
            "public_key %r is not a file (looked at %s). Pass the path of the Ferry root key or root file "
            "the game trusts." % (public_key, ", ".join(candidates)),
        )
    candidates = [
        os.path.join(base, "game", "ferry.pub"),
        os.path.join(base, "ferry.pub"),
        os.path.join(base, "game", "root.json"),
        os.path.join(base, "root.json"),
    ]
    for c in candidates:
        if os.path.isfile(c):
            return c
    raise UpdateError(
        "E_USAGE",
        "No public_key given and none of %s exists. Pass public_key= (the trusted Ferry root key)." % ", ".join(candidates),
    )


def _run_cli(base, args):
    """Runs a one-shot ``ferry <args> --json``; returns (exit code, result object or None, error or None)."""
    ferry = find_ferry(base)
    try:
        proc = subprocess.run(
            [ferry] + args + ["--json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=base if os.path.isdir(base) else None,
        )
    except OSError as e:
        raise UpdateError("E_AGENT", "Could not run %s: %s. Ship a ferry executable for this platform." % (ferry, e))
    result = None
    error = None
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("type") == "result":
            result = obj
        elif isinstance(obj, dict) and obj.get("type") == "error":
            error = obj
    if result is None and error is None and proc.returncode != 0:
        error = {"code": "E_AGENT", "message": "%s exited %d: %s" % (ferry, proc.returncode, proc.stderr.decode("utf-8", "replace").strip())}
    return proc.returncode, result, error


class Agent(object):
    """
    One ``ferry agent`` process over stdio (docs/AGENT.md, protocol 1). ``call()`` sends a request and
    waits for its response; requests run concurrently (``cancel`` while ``update`` runs). Events are given
    to ``on_event(event)`` from the reader thread.
    """

    def __init__(self, url, base, public_key=None, on_event=None, check_interval=None, channel=None, start_timeout=60):
        self.base = base
        self.ferry = find_ferry(base)
        trust = _find_trust(base, public_key)
        args = [self.ferry, "agent", str(url), base, "--trust", trust]
        if channel is not None:
            args += ["--channel", str(channel)]
        if check_interval is not None:
            args += ["--check-interval", str(int(check_interval))]
        self.on_event = on_event
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._next_id = 0
        self._pending = {}
        self._stderr = []
        self._closed = False
        self.hello = None
        self._hello_ready = threading.Event()
        if not os.path.isdir(base):
            os.makedirs(base)
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=base,
            )
        except OSError as e:
            raise UpdateError("E_AGENT", "Could not run %s: %s. Ship a ferry executable for this platform." % (self.ferry, e))
        self._reader = threading.Thread(target=self._read, name="ferry-agent-stdout")
        self._reader.daemon = True
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, name="ferry-agent-stderr")
        self._err_reader.daemon = True
        self._err_reader.start()
        if not self._hello_ready.wait(start_timeout) or self.hello is None:
            self.close()
            raise self._exit_error("did not say hello within %d s" % start_timeout)
        if self.hello.get("protocol") != PROTOCOL:
            self.close()
            raise UpdateError(
                "E_PROTOCOL",
                "%s speaks agent protocol %r; this ferry_updater speaks %d. Ship matching versions."
                % (self.ferry, self.hello.get("protocol"), PROTOCOL),
            )

    def _exit_error(self, what):
        """The agent's own error (its 'ferry: E_CODE: …' line on stderr) when it stopped, else a generic one."""
        self._err_reader.join(5)
        text = "".join(self._stderr).strip()
        for line in text.splitlines():
            if line.startswith("ferry: E_"):
                code, _, message = line[len("ferry: "):].partition(": ")
                return UpdateError(code, message)
        rc = self.proc.poll()
        return UpdateError(
            "E_AGENT",
            "The ferry agent (%s) %s%s%s" % (self.ferry, what, "" if rc is None else " (exit code %d)" % rc, (": " + text) if text else "."),
        )

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            self._stderr.append(raw.decode("utf-8", "replace"))
            del self._stderr[:-50]

    def _read(self):
        try:
            for raw in iter(self.proc.stdout.readline, b""):
                try:
                    msg = json.loads(raw.decode("utf-8"))
                except ValueError:
                    continue  # The doc promises JSON lines; anything else is not ours to act on.
                if not isinstance(msg, dict):
                    continue
                kind = msg.get("type")
                if kind == "hello":
                    self.hello = msg
                    self._hello_ready.set()
                elif kind in ("result", "error"):
                    with self._lock:
                        waiter = self._pending.pop(msg.get("id"), None)
                    if waiter is not None:
                        waiter[1].append(msg)
                        waiter[0].set()
                elif kind == "event" and self.on_event is not None:
                    try:
                        self.on_event(msg.get("event") or {})
                    except Exception as e:  # A bad handler must not stop the responses from arriving.
                        sys.stderr.write("ferry_updater: event handler failed: %r\n" % (e,))
        finally:
            self._hello_ready.set()
            with self._lock:
                pending = list(self._pending.values())
                self._pending.clear()
                self._closed = True
            for event, box in pending:
                event.set()

    def call(self, method, params=None, timeout=None):
        """Sends one request; returns its result or raises UpdateError with the agent's code."""
        event = threading.Event()
        box = []
        with self._lock:
            if self._closed:
                raise self._exit_error("is not running")
            self._next_id += 1
            rid = self._next_id
            self._pending[rid] = (event, box)
        line = json.dumps({"id": rid, "method": method, "params": params or {}}) + "\n"
        try:
            with self._write_lock:
                self.proc.stdin.write(line.encode("utf-8"))
                self.proc.stdin.flush()
        except (OSError, ValueError):
            with self._lock:
                self._pending.pop(rid, None)
            raise self._exit_error("stopped before %s was sent" % method)
        if not event.wait(timeout):
            with self._lock:
                self._pending.pop(rid, None)
            raise UpdateError("E_TIMEOUT", "The ferry agent did not answer %s within %s s." % (method, timeout))
        if not box:
            raise self._exit_error("stopped while %s ran" % method)
        msg = box[0]
        if msg.get("type") == "error":
            err = msg.get("error") or {}
            raise UpdateError(err.get("code", "E_AGENT"), err.get("message", "(no message)"), err.get("data"))
        return msg.get("result")

    def close(self, timeout=30):
        """Asks the agent to shut down (closing its stdin), waits for it; kills it if it does not exit."""
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        self._err_reader.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# Agent lifecycle states (src/core/lifecycle.ts) -> Ren'Py's Updater states during an update.
_PHASE_STATES = {
    "checking": "PREPARING",
    "downloading": "DOWNLOADING",
    "verifying": "UNPACKING",
    "applying": "FINISHING",
}


class Updater(threading.Thread):
    """
    Applies an update, like Ren'Py's ``updater.Updater``. Fields read by the update screen:

    ``state``       one of the state constants below;
    ``message``     in ERROR, the error message (``error`` holds the UpdateError, ``error.code`` its code);
    ``progress``    None or a number from 0.0 to 1.0;
    ``version``     the version offered (UPDATE_AVAILABLE and after);
    ``can_cancel`` / ``can_proceed``: whether the Cancel / Proceed buttons apply.

    Extra fields: ``download_total`` / ``download_done`` (bytes), ``bytes_per_second``, ``eta_seconds``,
    ``result`` (the agent's UpdateSummary), ``packages_result`` (for ``add``).
    """

    ERROR = "ERROR"
    CHECKING = "CHECKING"
    UPDATE_NOT_AVAILABLE = "UPDATE NOT AVAILABLE"
    UPDATE_AVAILABLE = "UPDATE AVAILABLE"
    PREPARING = "PREPARING"
    DOWNLOADING = "DOWNLOADING"
    UNPACKING = "UNPACKING"
    FINISHING = "FINISHING"
    DONE = "DONE"
    DONE_NO_RESTART = "DONE_NO_RESTART"
    CANCELLED = "CANCELLED"

    TERMINAL = (ERROR, UPDATE_NOT_AVAILABLE, DONE, DONE_NO_RESTART, CANCELLED)

    def __init__(self, url, base=None, force=False, public_key=None, simulate=None, add=[], restart=True,
                 check_only=False, confirm=True, patch=True, prefer_rpu=True, size_only=False, allow_empty=False,
                 done_pause=True, allow_cancel=True, channel=None, check_interval=None, start=True):
        threading.Thread.__init__(self, name="ferry-updater")
        self.daemon = True
        if "RENPY_FORCE_UPDATE" in os.environ:
            force = True
        if simulate not in (None, "available", "not_available", "error"):
            raise UpdateError("E_USAGE", "simulate is %r; use None, 'available', 'not_available' or 'error'." % (simulate,))
        self.url = str(url)
        self.base = _default_base(base)
        self.force = force
        self.public_key = public_key
        self.simulate = simulate
        self.add = list(add)
        self.restart = restart
        self.check_only = check_only
        self.confirm = confirm
        self.patch = patch  # Ferry always patches (only missing chunks are downloaded); kept for the signature.
        self.prefer_rpu = prefer_rpu
        self.size_only = size_only
        self.allow_empty = allow_empty
        self.done_pause = done_pause
        self.allow_cancel = allow_cancel
        self.channel = channel
        self.check_interval = check_interval

        self.state = self.CHECKING
        self.message = None
        self.error = None
        self.progress = None
        self.version = None
        self.pretty_version = None
        self.can_cancel = allow_cancel
        self.can_proceed = False
        self.cancelled = False
        self.proceeded = False
        self.check_result = None
        self.result = None
        self.packages_result = None
        self.download_total = None
        self.download_done = None
        self.bytes_per_second = None
        self.eta_seconds = None
        self.states_seen = [self.CHECKING]

        self.condition = threading.Condition()
        self.agent = None
        self._phase = None
        self._op = None
        if start:
            self.start()

    # --- state ---

    def _set_state(self, state):
        with self.condition:
            self.state = state
            if not self.states_seen or self.states_seen[-1] != state:
                self.states_seen.append(state)
            self.condition.notify_all()
        _restart_interaction()

    def _on_event(self, event):
        kind = event.get("type")
        if kind == "library" and self._op == "packages":
            self._on_library_event(event.get("event") or {})
        elif kind == "state":
            phase = event.get("state")
            ren = _PHASE_STATES.get(phase)
            if ren is not None and self.state not in self.TERMINAL and self.state not in (self.CHECKING, self.UPDATE_AVAILABLE):
                self._phase = phase
                if phase == "applying":
                    self.can_cancel = False  # The journal is written: the commit rolls forward.
                self.progress = 0.0 if phase != "applying" else None
                self._set_state(ren)
        elif kind == "progress":
            if self.state in (self.CHECKING, self.UPDATE_AVAILABLE) or self.state in self.TERMINAL:
                return
            total = event.get("bytesTotal") or 0
            done = event.get("bytesDone") or 0
            if not total:
                total = event.get("filesTotal") or 0
                done = event.get("filesDone") or 0
            if event.get("phase") == "downloading":
                self.download_total = event.get("bytesTotal")
                self.download_done = event.get("bytesDone")
            self.bytes_per_second = event.get("bytesPerSecond")
            self.eta_seconds = event.get("etaSeconds")
            if total:
                self.progress = max(0.0, min(1.0, float(done) / float(total)))
            _restart_interaction()

    def _on_library_event(self, event):
        """packages.add reports the library's own events only (no lifecycle): map them to the states."""
        kind = event.get("type")
        if self.state in self.TERMINAL:
            return
        if kind == "plan":
            self.download_total = event.get("downloadBytes")
            self.download_done = 0
            self.progress = 0.0
            self._set_state(self.DOWNLOADING)
        elif kind == "download":
            self.download_total = event.get("totalBytes")
            self.download_done = event.get("bytes")
            if self.download_total:
                self.progress = max(0.0, min(1.0, float(self.download_done or 0) / float(self.download_total)))
            _restart_interaction()
        elif kind == "verify":
            self.progress = 0.0
            self._set_state(self.UNPACKING)
        elif kind == "assemble":
            total = event.get("total") or 0
            if total:
                self.progress = max(0.0, min(1.0, float(event.get("done") or 0) / float(total)))
            _restart_interaction()
        elif kind == "commit":
            self.can_cancel = False
            self.progress = None
            self._set_state(self.FINISHING)

    def _wait_confirm(self):
        if not self.confirm:
            return
        with self.condition:
            self.progress = None
            self.can_cancel = self.allow_cancel
            self.can_proceed = True
            self.state = self.UPDATE_AVAILABLE
            self.states_seen.append(self.state)
            self.condition.notify_all()
        _restart_interaction()
        with self.condition:
            while self.confirm and not self.cancelled and not self.proceeded:
                self.condition.wait(0.1)
        if self.cancelled:
            raise UpdateCancelled()
        self.can_proceed = False

    # --- the thread ---

    def run(self):
        try:
            self._run()
        except UpdateCancelled:
            self._cancelled()
        except UpdateError as e:
            if e.code == "E_ABORTED" and self.cancelled:
                self._cancelled()
            else:
                self._fail(e)
        except Exception as e:  # Reported on the screen like Ren'Py does, never swallowed silently.
            self._fail(UpdateError("E_INTERNAL", "%s: %s" % (type(e).__name__, e)))
        finally:
            self._close_agent()

    def _close_agent(self):
        """Ends the agent before a final state is shown: a relaunch never races a running agent."""
        agent, self.agent = self.agent, None
        if agent is not None:
            agent.close()

    def _cancelled(self):
        self._close_agent()
        self.can_cancel = False
        self.can_proceed = True
        self.progress = None
        self.message = None
        self._set_state(self.CANCELLED)

    def _fail(self, error):
        self._close_agent()
        self.error = error
        self.message = "%s (%s)" % (error.message, error.code)
        self.can_cancel = False
        self.can_proceed = True
        self.progress = None
        self._set_state(self.ERROR)

    def _sim(self):
        return {"simulate": self.simulate} if self.simulate else {}

    def _run(self):
        self.agent = Agent(
            self.url,
            self.base,
            public_key=self.public_key,
            on_event=self._on_event,
            channel=self.channel,
            check_interval=self.check_interval,
        )
        if self.cancelled:
            raise UpdateCancelled()
        params = self._sim()
        if self.check_interval is not None:
            params["maxAgeSeconds"] = int(self.check_interval)
        answer = self.agent.call("check", params)
        self.check_result = answer
        installed = self._installed_packages()
        wanted = [p for p in self.add if p not in installed]
        available = bool(answer.get("updateAvailable"))
        self.pretty_version = answer.get("version")
        self.version = self.pretty_version
        if not available and not self.force and not wanted:
            self._close_agent()
            self.can_cancel = False
            self.can_proceed = True
            self._set_state(self.UPDATE_NOT_AVAILABLE)
            return
        if self.check_only:
            self._close_agent()
            self.can_cancel = False
            self._set_state(self.UPDATE_AVAILABLE)
            return
        if self.cancelled:
            raise UpdateCancelled()
        self._wait_confirm()

        self.can_cancel = self.allow_cancel
        self.progress = 0.0
        self._set_state(self.PREPARING)
        if available or self.force or self.simulate:
            up = dict(self._sim())
            if self.force:
                up["force"] = True
            if self.cancelled:
                raise UpdateCancelled()
            self._op = "update"
            self.result = self.agent.call("update", up)
            self.version = self.result.get("version", self.version)
        if wanted and not self.simulate:
            if self.cancelled:
                raise UpdateCancelled()
            self._op = "packages"
            self.packages_result = self.agent.call("packages.add", {"names": wanted})
        self._op = None
        self._close_agent()
        self.message = None
        self.progress = None
        self.can_proceed = self.done_pause
        self.can_cancel = False
        self._set_state(self.DONE if self.restart else self.DONE_NO_RESTART)

    def _installed_packages(self):
        if self.simulate:
            return []
        try:
            status = self.agent.call("status")
        except UpdateError as e:
            if e.code == "E_NOT_INSTALLED":
                return []
            raise
        return list((status or {}).get("packages") or [])

    # --- what the screen calls ---

    def periodic(self):
        """Called by the screen's timer: redraws; proceeds by itself when done and done_pause is False."""
        _restart_interaction()
        if self.state in (self.DONE, self.DONE_NO_RESTART) and not self.done_pause:
            return self.proceed(force=True)

    def proceed(self, force=False):
        """The Proceed button: confirms an offered update, or restarts the game once it is installed."""
        if not self.can_proceed and not force:
            return None
        if self.state in (self.UPDATE_NOT_AVAILABLE, self.ERROR, self.CANCELLED):
            return False
        if self.state == self.DONE:
            if _IN_RENPY:
                if self.restart == "utter":
                    renpy.utter_restart()
                else:
                    renpy.quit(relaunch=True)
            return True
        if self.state == self.DONE_NO_RESTART:
            return True
        if self.state == self.UPDATE_AVAILABLE:
            with self.condition:
                self.proceeded = True
                self.condition.notify_all()
        return None

    def cancel(self):
        """
        The Cancel button: stops the check or the download. The agent cancels its operation; the install
        stays exactly the old release (or, if the commit had begun, exactly the new one).
        """
        if not self.can_cancel:
            return None
        with self.condition:
            self.cancelled = True
            self.condition.notify_all()
        agent = self.agent
        if agent is not None and self.state not in (self.UPDATE_AVAILABLE,) + self.TERMINAL:
            try:
                agent.call("cancel", timeout=30)
            except UpdateError:
                pass  # The agent already ended the operation (or exited): the update's own answer says how.
        if _IN_RENPY and self.restart:
            renpy.full_restart()
        return False

    def wait(self, timeout=None):
        """Waits until the updater reaches a terminal state (or UPDATE_AVAILABLE with check_only); returns the state."""
        self.join(timeout)
        return self.state


def update(url, base=None, force=False, public_key=None, simulate=None, add=[], restart=True, confirm=True,
           patch=True, prefer_rpu=True, allow_empty=False, done_pause=True, allow_cancel=True, screen="ferry_updater",
           **kwargs):
    """
    Updates the game to the newest release at ``url`` (a Ferry repository), installing the packages in
    ``add`` (DLC) too. Inside Ren'Py it shows ``screen`` (ferry_updater_screen.rpy) and, when done,
    relaunches the game if ``restart`` (``renpy.quit(relaunch=True)``, or ``renpy.utter_restart()`` for
    "utter"). Outside Ren'Py it runs to the end without asking (confirm is treated as given), returns the
    finished ``Updater``, and raises UpdateError (with ``.code``) on failure or UpdateCancelled.
    """
    u = Updater(url=url, base=base, force=force, public_key=public_key, simulate=simulate, add=add,
                restart=restart, confirm=confirm and _IN_RENPY, patch=patch, prefer_rpu=prefer_rpu,
                allow_empty=allow_empty, done_pause=done_pause, allow_cancel=allow_cancel, **kwargs)
    if _IN_RENPY:
        # The screen (ferry_updater_screen.rpy) runs a timer calling u.periodic, as Ren'Py's does.
        if not renpy.call_screen(screen, u=u):
            renpy.full_restart()
        return u
    u.join()
    if u.state == u.ERROR:
        raise u.error
    if u.state == u.CANCELLED:
        raise UpdateCancelled()
    return u


def can_update(base=None):
    """
    True when an update can succeed here: the base directory is a Ferry install whose state is sound,
    its lock free and its directory writable (``ferry can-update``). Like Ren'Py's, it does not say whether
    an update is available (UpdateVersion does); False on mobile platforms, where Ferry does not run.
    """
    if _IN_RENPY and getattr(renpy, "mobile", False):
        return False
    b = _default_base(base)
    try:
        rc, result, _ = _run_cli(b, ["can-update", b])
    except UpdateError:
        return False
    # A directory that is no install yet answers ok with firstInstall: Ren'Py's can_update means "this game
    # can update itself", which needs an install to update.
    return rc == 0 and bool(result and result.get("ok")) and not result.get("firstInstall")


def get_installed_packages(base=None):
    """Names of the installed packages (``base`` and the DLC added), [] when the game is no Ferry install."""
    b = _default_base(base)
    rc, result, error = _run_cli(b, ["status", b])
    if rc == 0 and result is not None:
        return list(result.get("packages") or [])
    if error is not None and error.get("code") == "E_NOT_INSTALLED":
        return []
    error = error or {}
    raise UpdateError(error.get("code", "E_AGENT"), error.get("message", "ferry status failed"), error.get("data"))


# --- UpdateVersion: a cached, rate-limited background check ---

_CACHE_NAME = "ferry-updater.json"
_checked = set()
_checks = {}
_can_update_memo = {}
# How many background checks UpdateVersion started in this process (each starts one agent).
checks_started = 0
_cache_lock = threading.Lock()


def _cache_path(base):
    return os.path.join(base, "update", _CACHE_NAME)


def _read_cache(base):
    try:
        with open(_cache_path(base), "r") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(base, url, entry):
    with _cache_lock:
        data = _read_cache(base)
        data[url] = entry
        path = _cache_path(base)
        d = os.path.dirname(path)
        if not os.path.isdir(d):
            os.makedirs(d)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)


def _background_check(key, url, base, kwargs, check_interval, simulate):
    entry = {"version": None, "checked": time.time(), "stale": False, "error": None}
    old = _read_cache(base).get(key) or {}
    try:
        u = Updater(url, base=base, check_only=True, simulate=simulate, check_interval=check_interval,
                    start=False, **kwargs)
        u.run()
        if u.state == u.ERROR:
            raise u.error
        answer = u.check_result or {}
        entry["version"] = answer.get("version") if answer.get("updateAvailable") else None
        entry["stale"] = bool(answer.get("stale"))
        if entry["stale"]:
            entry["checked"] = old.get("checked", 0)  # A stale answer is no check: try again next session.
    except UpdateError as e:
        # The server cannot be reached and the agent has no cached answer: keep what we knew.
        entry = dict(old, error={"code": e.code, "message": e.message})
        entry.setdefault("version", None)
        entry.setdefault("checked", 0)
    _write_cache(base, key, entry)
    _restart_interaction()


def UpdateVersion(url, check_interval=21600, simulate=None, **kwargs):
    """
    The newer version available at ``url``, or None: answered at once from the last check (persisted in
    ``<base>/update/ferry-updater.json``), while a background thread checks again if this session has not
    checked ``url`` yet and the last check is ``check_interval`` seconds old or more. When the server
    cannot be reached, the cached answer stays. Other keyword arguments (``base``, ``public_key``, …) are
    as for ``update``. ``simulate`` ("available", "not_available", "error") runs the check without network.
    """
    base = _default_base(kwargs.pop("base", None))
    if not simulate:
        if base not in _can_update_memo:  # Screens call this at every interaction: ask once a session.
            _can_update_memo[base] = can_update(base)
        if not _can_update_memo[base]:
            return None
    key = "%s|%s" % (url, simulate or "")
    entry = _read_cache(base).get(key) or {}
    if key not in _checked and time.time() >= float(entry.get("checked", 0)) + check_interval:
        _checked.add(key)
        global checks_started
        checks_started += 1
        t = threading.Thread(
            target=_background_check, args=(key, str(url), base, kwargs, check_interval, simulate), name="ferry-update-version"
        )
        t.daemon = True
        _checks[key] = t
        t.start()
    return entry.get("version")


def wait_update_version(timeout=None):
    """Waits for the background checks UpdateVersion started (for tests and tools); True if all ended."""
    deadline = None if timeout is None else time.time() + timeout
    for t in list(_checks.values()):
        t.join(None if deadline is None else max(0.0, deadline - time.time()))
    return all(not t.is_alive() for t in _checks.values())


def _new_session():
    """Forgets which URLs this process checked, as a new Ren'Py session does (tests)."""
    _checked.clear()
    _can_update_memo.clear()
