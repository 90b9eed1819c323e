#!/usr/bin/env python3
"""The client side of the external rounds of scripts/crash-test.sh (Python 3, standard library).

A corridor of fixed length L that this script steps itself: an episode (= one trial) is exactly L
steps, the reward of a step is 1 for action 1 and 0 for action 0, and the L-th step terminates.
Every trial carries its own id in its observations, [position / L, id / 65536] (exact in
float32), so the trials in the replay buffer can be matched one by one to the trials the service
acknowledged.

    collect   drive sessions with POST /act/batch ("collect": true), one request per vector step per
              thread, until the server goes away (the kill), answers otherwise than 200 (409 when the
              run is over) or --seconds pass; writes a JSON summary: the acknowledged trials (their
              trial-ending step answered 200 with trial_over true) with their actions, the trials
              whose ending step was in a request that got no answer ("unknown": they may or may not
              be stored), the session ids, and why each thread stopped.
    check     decode every file of a replay buffer (the format of Sources/AMAGO/Replay/TrajectoryFile.swift)
              and compare it with summaries; prints one JSON line and exits 1 on a problem. Other
              files in the buffer's folders (temporary files of interrupted atomic writes, which
              the buffer does not read) are listed as "leftover" with the trial they hold.
    stale     send one collection step for each session of a summary; prints the answers' statuses as
              JSON (after a restart every one must be 410).
"""
import argparse
import http.client
import json
import os
import struct
import sys
import threading
import time

SCALE = 65536.0  # trial id / SCALE is exact in float32 for ids < 2**24


def observation(position, length, trial_id):
    return [position / length, trial_id / SCALE]


class Client:
    """Drives `sessions` corridors over one keep-alive connection, one /act/batch per vector step:
    each session's report of its last action's outcome and, when that ended the trial, the reset
    that starts its next one (the same session)."""

    def __init__(self, args, ids, record):
        self.args, self.ids, self.record = args, ids, record
        self.connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)

    def post(self, path, body):
        self.connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        return response.status, response.read()

    def run(self):
        length, n = self.args.length, self.args.sessions
        trial = [self.ids() for _ in range(n)]
        position = [0] * n
        actions = [[] for _ in range(n)]
        session = [None] * n
        # The sessions open one per request, so that their trials end in different requests.
        opening = lambda i: [{"observation": observation(0, length, trial[i]), "reset": True}]
        pending = [opening(0)] + [[] for _ in range(n - 1)]
        started = 1
        ending = [None] * n  # per env: the id of the trial the pending request ends, if it does
        ending_next = [None] * n  # and the id of the trial its reset starts
        deadline = time.monotonic() + self.args.seconds
        while True:
            if time.monotonic() > deadline:
                return "time"
            if self.args.stop_file and os.path.exists(self.args.stop_file):
                return "stop file"
            steps = [s for p in pending for s in p]
            in_flight = [t for t in ending if t is not None]
            try:
                status, body = self.post("/act/batch", {"experiment": self.args.experiment, "collect": True, "steps": steps})
            except (OSError, http.client.HTTPException) as error:
                self.record(unknown=in_flight)
                return "connection: %s" % type(error).__name__
            if status != 200:
                # A refused request recorded nothing (the contract): its trial ends are not acknowledged.
                try:
                    error = json.loads(body)["error"]
                    return "%d %s" % (status, error.get("code"))
                except (ValueError, KeyError, TypeError):
                    return "%d %r" % (status, body[:200])
            results = json.loads(body)["results"]
            if len(results) != len(steps):
                return "answer with %d results for %d steps" % (len(results), len(steps))
            cursor, acked, problems = 0, [], []
            for i in range(started):
                mine = results[cursor:cursor + len(pending[i])]
                cursor += len(pending[i])
                if ending[i] is not None:
                    first = mine[0]
                    if first.get("trial_over") is True and first.get("action") is None:
                        acked.append((ending[i], "".join(actions[i])))
                    else:
                        problems.append("trial %d: its ending step answered %r" % (ending[i], first))
                    trial[i], position[i], actions[i] = ending_next[i], 0, []
                last = mine[-1]
                session[i] = last["session"]
                action = last.get("action")
                if action not in (0, 1):
                    problems.append("session %s: action %r" % (session[i], action))
                    action = 0
                actions[i].append(str(action))
                position[i] += 1
                report = {"session": session[i], "observation": observation(position[i], length, trial[i]),
                          "reward": float(action == 1)}
                if position[i] == length:
                    report.update(terminated=True, success=len(actions[i]) == actions[i].count("1"))
                    nxt = self.ids()
                    ending[i], ending_next[i] = trial[i], nxt
                    pending[i] = [report, {"session": session[i], "observation": observation(0, length, nxt), "reset": True}]
                else:
                    ending[i] = None
                    pending[i] = [report]
            if started < n:
                pending[started] = opening(started)
                started += 1
            self.record(acked=acked, sessions=session, problems=problems, steps=len(steps))
            if problems:
                return "bad answer"


def collect(args):
    lock = threading.Lock()
    state = {"acked": {}, "unknown": [], "sessions": set(), "problems": [], "calls": 0, "steps": 0, "stops": []}
    counter = [args.first_id]

    def ids():
        with lock:
            counter[0] += 1
            return counter[0] - 1

    def record(acked=(), unknown=(), sessions=(), problems=(), steps=0):
        with lock:
            state["acked"].update(acked)
            state["unknown"] += unknown
            state["sessions"].update(s for s in sessions if s)
            state["problems"] += problems
            if steps:
                state["calls"] += 1
                state["steps"] += steps

    def worker():
        reason = Client(args, ids, record).run()
        with lock:
            state["stops"].append(reason)

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    summary = {"length": args.length, "acked": state["acked"], "unknown": sorted(state["unknown"]),
               "sessions": sorted(state["sessions"]), "problems": state["problems"][:20], "calls": state["calls"],
               "steps": state["steps"], "stops": state["stops"]}
    with open(args.out + ".part", "w") as f:
        json.dump(summary, f)
    os.replace(args.out + ".part", args.out)
    return 0


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def decode(data):
    """(observations, time indices, rewards, dones, actions) of a trajectory file; ValueError if corrupt."""
    if len(data) < 56:
        raise ValueError("only %d bytes" % len(data))
    if data[:8] != b"AMAGOTRJ":
        raise ValueError("bad magic")
    version, _ = struct.unpack_from("<II", data, 8)
    if version != 1:
        raise ValueError("version %d" % version)
    t, o, r, a = struct.unpack_from("<4Q", data, 16)
    if t < 1 or r != a + 1 or max(t, o, r, a) >= 1 << 40:
        raise ValueError("header counts %r" % ((t, o, r, a),))
    size = 48 + t * (4 * (o + r) + 8) + (t - 1) * (4 + 1 + 4 * a) + 8
    if size != len(data):
        raise ValueError("length %d, header implies %d" % (len(data), size))
    if struct.unpack_from("<Q", data, len(data) - 8)[0] != fnv1a(data[:-8]):
        raise ValueError("checksum mismatch")
    offset = 48
    def take(fmt, count):
        nonlocal offset
        values = struct.unpack_from("<%d%s" % (count, fmt), data, offset)
        offset += struct.calcsize("<%d%s" % (count, fmt))
        return values
    obs = take("f", t * o)
    observations = [obs[i * o:(i + 1) * o] for i in range(t)]
    take("f", t * r)  # rl2
    times = take("q", t)
    rewards = take("f", t - 1)
    dones = take("B", t - 1)
    if any(d > 1 for d in dones):
        raise ValueError("a done flag is neither 0 nor 1")
    flat = take("f", (t - 1) * a)
    actions = [flat[i * a:(i + 1) * a] for i in range(t - 1)]
    return observations, times, rewards, dones, actions


def trial_of(name, decoded, length):
    """The trial id and action string a file holds, after checking it is one whole corridor trial."""
    observations, times, rewards, dones, actions = decoded
    if len(observations) != length + 1:
        raise ValueError("%d transitions, a trial has %d" % (len(observations) - 1, length))
    ids = {round(ob[1] * SCALE) for ob in observations}
    if len(ids) != 1:
        raise ValueError("observations of several trials %s" % sorted(ids))
    positions = [round(ob[0] * length) for ob in observations]
    if positions != list(range(length + 1)) or list(times) != list(range(length + 1)):
        raise ValueError("positions %s, time indices %s" % (positions, list(times)))
    if list(dones) != [0] * (length - 1) + [1]:
        raise ValueError("done flags %s" % list(dones))
    chosen = []
    for action, reward in zip(actions, rewards):
        if sorted(action) != [0.0, 1.0]:
            raise ValueError("action %r is not one-hot" % (action,))
        chosen.append(action.index(1.0))
        if reward != float(chosen[-1] == 1):
            raise ValueError("reward %r after action %d" % (reward, chosen[-1]))
    return ids.pop(), "".join(map(str, chosen))


def check(args):
    summaries = [json.load(open(path)) for path in args.summary]
    length = summaries[0]["length"]
    acked, unknown = {}, set()
    for s in summaries:
        acked.update({int(k): v for k, v in s["acked"].items()})
        unknown.update(s["unknown"])
    stored, corrupt, stray, wrong, duplicated = {}, [], [], [], []
    files = transitions = 0
    for sub in ("fifo", "protected"):
        folder = os.path.join(args.buffer, sub)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            path = os.path.join(folder, name)
            if not name.endswith(".traj"):
                # Not a buffer file (the buffer reads only *.traj): e.g. the temporary file of an
                # atomic write the kill interrupted. Reported, with the trial it holds if it decodes.
                with open(path, "rb") as f:
                    data = f.read()
                try:
                    held = trial_of(name, decode(data), length)[0]
                except (ValueError, struct.error):
                    held = None
                stray.append({"file": "%s/%s" % (sub, name), "bytes": len(data), "trial": held,
                              "in_flight": held in unknown, "acknowledged": held in acked})
                continue
            files += 1
            with open(path, "rb") as f:
                data = f.read()
            try:
                decoded = decode(data)
            except (ValueError, struct.error) as error:
                corrupt.append("%s: %s" % (name, error))
                continue
            transitions += len(decoded[0]) - 1
            try:
                trial, chosen = trial_of(name, decoded, length)
            except ValueError as error:
                wrong.append("%s: %s" % (name, error))
                continue
            if trial in stored:
                duplicated.append(trial)
            stored[trial] = (name, chosen)
    missing = sorted(set(acked) - set(stored))
    unexpected = sorted(set(stored) - set(acked) - unknown)
    altered = sorted(t for t in set(acked) & set(stored) if stored[t][1] != acked[t])
    if args.names_out:
        with open(args.names_out, "w") as f:
            f.write("".join(name + "\n" for name, _ in sorted(stored.values())))
    vanished = []
    if args.names_in:
        names = {name for name, _ in stored.values()}
        vanished = [n for n in open(args.names_in).read().split() if n not in names]
    report = {"files": files, "transitions": transitions, "acked": len(acked), "acked_transitions": len(acked) * length,
              "unknown": len(unknown), "unknown_stored": len(set(stored) & unknown), "missing": missing[:10],
              "missing_count": len(missing), "unexpected": unexpected[:10], "altered": altered[:10], "corrupt": corrupt[:5],
              "not_a_trial": wrong[:5], "duplicated": duplicated[:10], "leftover": stray[:5], "leftover_count": len(stray),
              "vanished": vanished[:5], "vanished_count": len(vanished)}
    # A leftover file loses nothing: it may only hold a trial that was in flight at the kill.
    odd = [x for x in stray if x["trial"] is not None and not x["in_flight"]]
    ok = not (missing or unexpected or altered or corrupt or wrong or duplicated or vanished or odd)
    report["ok"] = ok
    print(json.dumps(report))
    return 0 if ok else 1


def stale(args):
    summary = json.load(open(args.summary))
    answers = {}
    connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
    for s in summary["sessions"]:
        body = {"experiment": args.experiment, "collect": True,
                "steps": [{"session": s, "observation": observation(0, summary["length"], 0), "reset": True}]}
        connection.request("POST", "/act/batch", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        text = response.read()
        try:
            field = json.loads(text)["error"].get("field")
        except (ValueError, KeyError, TypeError, AttributeError):
            field = None
        key = "%d %s" % (response.status, field)
        answers[key] = answers.get(key, 0) + 1
    print(json.dumps({"sessions": len(summary["sessions"]), "answers": answers}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--experiment", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--length", type=int, default=8)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--sessions", type=int, default=4, help="sessions per thread")
    c.add_argument("--first-id", type=int, default=1)
    c.add_argument("--seconds", type=float, default=600)
    c.add_argument("--timeout", type=float, default=120)
    c.add_argument("--stop-file")
    k = sub.add_parser("check")
    k.add_argument("--buffer", required=True)
    k.add_argument("--summary", action="append", required=True)
    k.add_argument("--names-out", help="write the names of the stored trials' files here")
    k.add_argument("--names-in", help="files named here must still be there")
    s = sub.add_parser("stale")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--experiment", required=True)
    s.add_argument("--summary", required=True)
    s.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    return {"collect": collect, "check": check, "stale": stale}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
