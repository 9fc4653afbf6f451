#!/usr/bin/env python3
"""ctest drill_kill and drill_cut (issue 7): a small two-region system (two_regions.py, no
`mysfits up`), then `mysfits drill --break kill` (or `--break cut`: the primary's processes
frozen with SIGSTOP) at a small scale, and the drill's invariants:
  - each traffic split is what the client and the accelerator's metrics observed;
  - the dead region is unused once the accelerator marked it unhealthy;
  - in HTTP-aware mode, zero failed requests;
  - no unexplained loss of acknowledged likes (only likes superseded under last-writer-wins);
  - likes counted more than acknowledged only as reported duplicates (likes the accelerator
    resent to the other region after the first may have applied them) or unanswered likes;
  - with cut: the requests the frozen region held were resent (the first-byte timeout), so
    still no failed request, and once thawed it refused what it held past the requests'
    deadline (X-Edge-Deadline) instead of applying it again;
  - the regions agree again after healing.
The last two need replicated tables (global tables); every check is reported, and the test fails
if any fails. Bounded: the drill runs about 40 s; everything started is stopped."""
import argparse
import json
import subprocess
import sys
import tempfile

from two_regions import System, add_binary_args, binaries


def main():
    parser = argparse.ArgumentParser()
    add_binary_args(parser)
    parser.add_argument("--mysfits", required=True)
    parser.add_argument("--rate", default="40")
    parser.add_argument("--break", dest="how", default="kill", choices=["kill", "cut"])
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix=f"mysfits-drill-{args.how}-")
    system = System(binaries(args), work)
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            failures.append(what)

    try:
        path = system.start()
        print(f"system: {path} (replicated tables: {system.replication})", flush=True)
        r = subprocess.run([args.mysfits, "--state-dir", work, "drill", "--system", path,
                            "--rate", args.rate, "--mix", "likes=0.5", "--connections", "4",
                            "--duration", "2s", "--break", args.how, "--converge-timeout", "20s",
                            "--counter-merge", "on", "--json"], capture_output=True, text=True, timeout=150)
        sys.stderr.write(r.stderr)
        check(r.returncode == 0, f"mysfits drill exits 0 (got {r.returncode})")
        report = json.loads(r.stdout)
        print(json.dumps(report, indent=1)[:6000])
        text = subprocess.run([args.mysfits, "drill", "--help"], capture_output=True, text=True)
        check(text.returncode == 0, "mysfits drill --help")

        check(report["requests"] > 0, f"load ran ({report['requests']} requests)")
        for s in report["splits"]:
            check(s.get("matches") is True,
                  f"split {s['split']}: observed {s.get('observed_share')} / metrics "
                  f"{s.get('dashboard_share')} match {s.get('expected_share')}")
        f = report["failover"]
        check("error" not in f["break"], f"break: {f['break']}")
        check(f["accelerator_marked_unhealthy_s"] is not None,
              f"accelerator marked the primary unhealthy ({f['accelerator_marked_unhealthy_s']} s)")
        check(f["dead_region_unused_after_failover"] is True,
              f"dead region unused after failover ({f['primary_answers_after_failover']} answers)")
        check(report["accelerator_mode"] != "http" or f["failed_requests"] == 0,
              f"HTTP-aware mode: zero failed requests (got {f['failed_requests']} "
              f"{f['failed_by_status']})")
        check(f["recovered"] is True, f"recovered (recovery {f['recovery_s']} s)")
        if args.how == "cut":
            check(f["requests_resent"] > 0,
                  f"requests held by the frozen region resent to the other "
                  f"({f['requests_resent']}; slowest answer {f['slowest_answer_after_break_s']} s)")
        loss = report["loss"]
        if args.how == "cut":
            refused = loss.get("refused_after_deadline_in_primary") or {}
            check((refused.get("load_balancer") or 0) + (refused.get("tasks") or 0) >= 1,
                  f"the thawed primary refused what it held past the deadline ({refused}; "
                  f"duplicates {loss['duplicates']} of {loss['likes_resent']} resent likes)")
        check(report["heal"].get("primary_healthy_again_s") is not None,
              f"healed: primary healthy again after {report['heal'].get('primary_healthy_again_s')} s")
        loss = report["loss"]
        check(loss["judged_in_region"] != "", "likes read from the surviving region")
        check(loss["unexplained_loss"] == 0,
              f"no unexplained loss (unexplained {loss['unexplained_loss']}, superseded under LWW "
              f"{loss['superseded_under_lww']}, acknowledged {loss['likes_acknowledged']})")
        # Conflict-free likes on: concurrent likes in both regions merge as counters, so not even
        # last-writer-wins may drop one.
        check(report.get("counter_merge") == "on", "conflict-free likes switched on")
        check(loss["superseded_under_lww"] == 0,
              f"no like superseded with conflict-free likes on (got {loss['superseded_under_lww']})")
        check(loss["overwritten_by_late_duplicates"] == 0,
              f"no like lost to a late duplicate with conflict-free likes on "
              f"(got {loss['overwritten_by_late_duplicates']})")
        check(loss["unexplained_extra"] == 0,
              f"likes counted more than acknowledged are all reported duplicates or unanswered "
              f"(extra {loss['counted_more_than_acknowledged']}: duplicates {loss['duplicates']} of "
              f"{loss['likes_resent']} resent, {loss['unacknowledged_but_applied']} unanswered, "
              f"{loss['unexplained_extra']} unexplained)")
        conv = report["convergence"]
        check(conv["regions_agree"] is True,
              f"regions agree after heal ({conv.get('time_to_agree_s')} s)")
    finally:
        system.stop()
    if failures:
        print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
