// The text report names every measured figure and says plainly when something failed.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "mysfits/drill/drill.h"

namespace mysfits::drill {
namespace {

TEST(DrillReport, TextNamesTheFigures) {
  auto v = boost::json::parse(R"({
    "system": "s.json", "primary_region": "us-west-2", "secondary_region": "us-east-1",
    "accelerator_mode": "http", "rate": 50, "like_fraction": 0.5, "connections": 4,
    "phase_seconds": 2, "requests": 900, "failed_requests_total": 0, "break": "kill",
    "splits": [{"split": "50/50", "observed_share": {"us-west-2": 0.49, "us-east-1": 0.51},
                "dashboard_share": {"us-west-2": 0.5, "us-east-1": 0.5}, "requests": 100,
                "failed": 0, "matches": true}],
    "failover": {"accelerator_marked_unhealthy_s": 0.3, "last_response_from_primary_s": 0.01,
                 "recovery_s": 0.0, "recovered": true, "failed_requests": 0,
                 "requests_after_break": 400, "primary_answers_after_failover": 0,
                 "likes_missing_in_survivor_after_recovery": 3,
                 "slowest_answer_after_break_s": 0.712, "requests_resent": 9},
    "heal": {"how": "restarted", "primary_healthy_again_s": 1.5},
    "convergence": {"regions_agree": false, "waited_up_to_s": 30, "differing_mysfits": {}},
    "loss": {"judged_in_region": "us-east-1", "likes_acknowledged": 200,
             "superseded_under_lww": 2, "unexplained_loss": 1, "counted_more_than_acknowledged": 4,
             "duplicates": 3, "likes_resent": 5, "unacknowledged_but_applied": 1,
             "likes_unacknowledged": 2, "unexplained_extra": 0},
    "notes": ["n1"]})");
  auto text = format_report(v.as_object());
  for (const char* want :
       {"primary us-west-2", "us-west-2 49.0%", "matches", "unhealthy after 0.300 s",
        "Regions did NOT agree", "2 superseded", "1 unexplained", "Note: n1",
        "healthy again after 1.500 s", "slowest answer after the break                0.712 s",
        "resent to the other region           9", "3 duplicates (of 5 likes resent",
        "1 applied without an answer"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

TEST(DrillBreak, ParsesKinds) {
  EXPECT_EQ(*parse_break_kind("kill"), break_kind::kill);
  EXPECT_EQ(*parse_break_kind("cut"), break_kind::cut);
  EXPECT_EQ(*parse_break_kind("desired-count"), break_kind::desired_count);
  EXPECT_FALSE(parse_break_kind("explode"));
}

}  // namespace
}  // namespace mysfits::drill
