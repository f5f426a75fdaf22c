// Watch's scheduler: every target runs at its interval, a round still running is never started
// twice (a slow target skips its turns and delays no other), at most max_in_flight rounds run at
// once, and stop() returns only after the rounds in flight have finished.
#include "agent/watch/scheduler.h"

#include <atomic>
#include <map>

#include <gtest/gtest.h>

namespace midiag::agent::watch {
namespace {

using namespace std::chrono_literals;

// Rounds counted per job; the test waits on events, bounded, never on elapsed time.
struct Rounds {
  std::mutex m;
  std::condition_variable cv;
  std::map<std::string, int> count;
  bool released = false;
  void add(const std::string& name) {
    std::lock_guard l(m);
    ++count[name];
    cv.notify_all();
  }
  bool wait_until_each(const std::vector<std::string>& names, int n) {
    std::unique_lock l(m);
    return cv.wait_for(l, 10s, [&] {
      for (const auto& x : names)
        if (count[x] < n) return false;
      return true;
    });
  }
  void block() {  // until release()
    std::unique_lock l(m);
    cv.wait_for(l, 10s, [&] { return released; });
  }
  void release() {
    std::lock_guard l(m);
    released = true;
    cv.notify_all();
  }
};

Job job(const std::string& name, Rounds& r, bool blocks = false) {
  return {name, 2ms, [&r, name, blocks] {
            r.add(name);
            if (blocks) r.block();
          }};
}

TEST(WatchScheduler, EveryTargetRunsAgainAtItsInterval) {
  Rounds r;
  Scheduler s(4, 1);
  s.set_jobs({job("a", r), job("b", r), job("c", r)});
  std::thread t([&] { s.run(); });
  EXPECT_TRUE(r.wait_until_each({"a", "b", "c"}, 5));
  s.stop();
  t.join();
  for (const auto& st : s.stats()) EXPECT_GE(st.started, 5U) << st.name;
}

TEST(WatchScheduler, ASlowTargetSkipsItsTurnsAndDelaysNoOther) {
  Rounds r;
  Scheduler s(4, 2);
  s.set_jobs({job("slow", r, true), job("fast", r)});
  std::thread t([&] { s.run(); });
  EXPECT_TRUE(r.wait_until_each({"slow", "fast"}, 1));
  EXPECT_TRUE(r.wait_until_each({"fast"}, 20));  // while "slow" is still in its first round
  {
    std::lock_guard l(r.m);
    EXPECT_EQ(r.count["slow"], 1);
  }
  for (const auto& st : s.stats())
    if (st.name == "slow") {
      EXPECT_EQ(st.started, 1U);
      EXPECT_GE(st.skipped, 1U);
    }
  r.release();
  s.stop();
  t.join();
}

TEST(WatchScheduler, NoMoreThanMaxInFlightAndStopWaitsForThem) {
  Rounds r;
  Scheduler s(2, 3);
  std::atomic<int> finished{0};
  std::vector<Job> jobs;
  for (const char* n : {"a", "b", "c", "d"})
    jobs.push_back({n, 2ms, [&r, &finished, name = std::string(n)] {
                      r.add(name);
                      r.block();
                      ++finished;
                    }});
  s.set_jobs(std::move(jobs));
  std::thread t([&] { s.run(); });
  {
    std::unique_lock l(r.m);
    ASSERT_TRUE(r.cv.wait_for(l, 10s, [&] {
      int total = 0;
      for (auto& [k, v] : r.count) total += v;
      return total >= 2;
    }));
  }
  EXPECT_EQ(s.max_seen_in_flight(), 2U);
  s.stop();  // two rounds are blocked: run() must not return before they finish
  r.release();
  t.join();
  EXPECT_EQ(s.max_seen_in_flight(), 2U);
  int started = 0;
  for (const auto& st : s.stats()) started += static_cast<int>(st.started);
  EXPECT_EQ(finished.load(), started);
}

TEST(WatchScheduler, AReloadKeepsARunningTargetFromStartingTwice) {
  Rounds r;
  Scheduler s(4, 4);
  s.set_jobs({job("a", r, true)});
  std::thread t([&] { s.run(); });
  ASSERT_TRUE(r.wait_until_each({"a"}, 1));
  s.set_jobs({job("a", r, true), job("b", r)});  // SIGHUP added "b"
  EXPECT_TRUE(r.wait_until_each({"b"}, 5));
  {
    std::lock_guard l(r.m);
    EXPECT_EQ(r.count["a"], 1);
  }
  r.release();
  s.stop();
  t.join();
}

}  // namespace
}  // namespace midiag::agent::watch
