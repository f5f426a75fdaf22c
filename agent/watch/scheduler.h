// Watch's scheduler: each job (one per target) runs at its own interval, started with a random
// offset within its first interval (jitter, so targets of one config do not fire together), never
// two rounds of one job at once (a round still running when the next is due skips that one), at
// most `max_in_flight` rounds at once, and a slow job delays only itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace midiag::agent::watch {

struct Job {
  std::string name;
  std::chrono::milliseconds interval{60'000};
  std::function<void()> run;  // one round; must return (the check's own deadline bounds it)
};

struct JobStats {
  std::string name;
  std::uint64_t started = 0;
  std::uint64_t skipped = 0;  // due while its previous round was still running
};

class Scheduler {
 public:
  Scheduler(std::size_t max_in_flight, std::uint64_t seed);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Replaces the jobs (a reload): rounds in flight finish; a job keeping its name keeps its
  // schedule and counts.
  void set_jobs(std::vector<Job> jobs);
  // Runs until stop(); returns once every round in flight has finished.
  void run();
  // From any thread or a signal-handling thread (not from a signal handler itself).
  void stop();

  [[nodiscard]] std::vector<JobStats> stats() const;
  [[nodiscard]] std::size_t max_seen_in_flight() const;

 private:
  struct Slot {
    Job job;
    std::chrono::steady_clock::time_point due;
    bool running = false;
    JobStats stats;
  };
  void launch(std::size_t index);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Slot> slots_;
  std::size_t max_in_flight_;
  std::size_t in_flight_ = 0, max_seen_ = 0;
  std::uint64_t rng_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // rounds; joined as they finish and at the end
  std::vector<std::thread::id> finished_;
};

}  // namespace midiag::agent::watch
