#include "platform/linux/batch_heap.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace midiag::platform {

bool tune_heap_for_batch(std::size_t reserve_bytes) {
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE)
  // glibc's ceiling for the mmap threshold is 32 MiB on 64-bit: below it, large blocks (the
  // connection table, the report's buffer) come from the heap and are reused once freed, rather
  // than each being a fresh mapping faulted in page by page and unmapped again.
  constexpr int kMmapThreshold = 32 * 1024 * 1024;
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 0) return false;
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);  // freed memory stays for the next allocation
  if (reserve_bytes == 0 || reserve_bytes >= static_cast<std::size_t>(kMmapThreshold)) return false;
  // Grow the heap once by the reserve (a block below the threshold comes from brk), give it back
  // to malloc's free top (kept: the trim threshold is higher) and advise the whole range.
  void* const old_end = sbrk(0);
  void* block = std::malloc(reserve_bytes);
  const auto before = reinterpret_cast<std::uintptr_t>(old_end);
  const auto top = reinterpret_cast<std::uintptr_t>(sbrk(0));
  const auto start = reinterpret_cast<std::uintptr_t>(block);
  // From the heap (it grew, and the block ends at or below its new end; it may begin in free
  // space the heap already had), not from a mapping of its own.
  const bool on_heap = block != nullptr && old_end != reinterpret_cast<void*>(-1) && top > before &&
                       start < top && top - start >= reserve_bytes;
  std::free(block);
  if (!on_heap) return false;
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const std::uintptr_t from = (start + page - 1) & ~(page - 1);
  const std::uintptr_t to = top & ~(page - 1);
  if (to <= from) return false;
  return madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE) == 0;
#else
  (void)reserve_bytes;
  return false;
#endif
}

}  // namespace midiag::platform
