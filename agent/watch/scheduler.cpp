#include "agent/watch/scheduler.h"

#include <algorithm>

namespace midiag::agent::watch {

namespace {

std::uint64_t next_random(std::uint64_t& state) {  // splitmix64
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

Scheduler::Scheduler(std::size_t max_in_flight, std::uint64_t seed)
    : max_in_flight_(std::max<std::size_t>(1, max_in_flight)), rng_(seed) {}

Scheduler::~Scheduler() {
  stop();
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [&] { return in_flight_ == 0; });
  auto threads = std::move(threads_);
  lock.unlock();
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

void Scheduler::set_jobs(std::vector<Job> jobs) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  std::vector<Slot> next;
  for (auto& j : jobs) {
    j.interval = std::max(j.interval, std::chrono::milliseconds(1));
    auto old = std::find_if(slots_.begin(), slots_.end(),
                            [&](const Slot& s) { return s.job.name == j.name; });
    if (old != slots_.end() && !old->running) {
      Slot s{std::move(j), old->due, false, old->stats};
      next.push_back(std::move(s));
      continue;
    }
    const auto span = static_cast<std::uint64_t>(j.interval.count());
    const auto offset = std::chrono::milliseconds(next_random(rng_) % span);
    Slot s{std::move(j), now + offset, false, {}};
    if (old != slots_.end()) {  // running: its thread still holds the old job; no second round
      s.due = old->due;
      s.running = true;
      s.stats = old->stats;
    }
    s.stats.name = s.job.name;
    next.push_back(std::move(s));
  }
  // A round in flight of a job that was removed or replaced keeps running on its own copy.
  slots_ = std::move(next);
  wake_.notify_all();
}

void Scheduler::launch(std::size_t index) {
  Slot& s = slots_[index];
  s.running = true;
  ++s.stats.started;
  ++in_flight_;
  max_seen_ = std::max(max_seen_, in_flight_);
  auto run = s.job.run;
  auto name = s.job.name;
  threads_.emplace_back([this, run = std::move(run), name = std::move(name)] {
    if (run) run();
    std::lock_guard lock(mutex_);
    --in_flight_;
    for (auto& slot : slots_)
      if (slot.job.name == name) slot.running = false;
    finished_.push_back(std::this_thread::get_id());
    wake_.notify_all();
  });
}

void Scheduler::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // Join the threads of finished rounds, so 10,000 rounds leave no threads behind.
    if (!finished_.empty()) {
      std::vector<std::thread> done;
      for (auto it = threads_.begin(); it != threads_.end();) {
        if (std::find(finished_.begin(), finished_.end(), it->get_id()) != finished_.end()) {
          done.push_back(std::move(*it));
          it = threads_.erase(it);
        } else {
          ++it;
        }
      }
      finished_.clear();
      lock.unlock();
      for (auto& t : done) t.join();
      lock.lock();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    auto earliest = now + std::chrono::hours(1);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.due <= now) {
        if (s.running) {
          ++s.stats.skipped;  // never two rounds of one target at once
          s.due += s.job.interval;
        } else if (in_flight_ < max_in_flight_) {
          launch(i);
          s.due += s.job.interval;
        } else {
          continue;  // stays due: started when a round finishes
        }
        if (s.due <= now) s.due = now + s.job.interval;  // fell behind: no burst to catch up
      }
      earliest = std::min(earliest, s.due);
    }
    wake_.wait_until(lock, earliest);
  }
  wake_.wait(lock, [&] { return in_flight_ == 0; });
  auto threads = std::move(threads_);
  finished_.clear();
  lock.unlock();
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

void Scheduler::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

std::vector<JobStats> Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  std::vector<JobStats> out;
  for (const auto& s : slots_) out.push_back(s.stats);
  return out;
}

std::size_t Scheduler::max_seen_in_flight() const {
  std::lock_guard lock(mutex_);
  return max_seen_;
}

}  // namespace midiag::agent::watch
