// Tests for the health state machine (thresholds, initial state).
#include "health/host_health.h"

#include <gtest/gtest.h>

using namespace mysfits::edge;

// A new target is routable, and its first result decides its state at once (so a dead target
// added at start is out after one check, not after the threshold).
TEST(HostHealth, FirstResultDecidesFromInitial) {
  host_health up(3, 3);
  EXPECT_TRUE(up.is_routable());
  EXPECT_EQ(up.record(true), health_state::healthy);
  host_health down(3, 3);
  EXPECT_EQ(down.record(false), health_state::unhealthy);
  EXPECT_FALSE(down.is_routable());
}

// Leaving a state takes the threshold in a row; an opposite result resets the count.
TEST(HostHealth, TransitionsNeedConsecutiveResults) {
  host_health h(2, 3);
  ASSERT_EQ(h.record(true), health_state::healthy);
  EXPECT_EQ(h.record(false), std::nullopt);
  EXPECT_EQ(h.record(false), std::nullopt);
  EXPECT_EQ(h.record(true), std::nullopt);  // resets failures
  EXPECT_EQ(h.record(false), std::nullopt);
  EXPECT_EQ(h.record(false), std::nullopt);
  EXPECT_EQ(h.record(false), health_state::unhealthy);
  EXPECT_EQ(h.record(false), std::nullopt);  // no repeated transition
  EXPECT_EQ(h.record(true), std::nullopt);
  EXPECT_EQ(h.record(true), health_state::healthy);
  EXPECT_TRUE(h.is_healthy());
}
