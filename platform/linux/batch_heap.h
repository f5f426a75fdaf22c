// Heap settings for a short batch run that allocates tens of MiB and exits (analyze): memory the
// run frees is kept for its later allocations instead of going back to the kernel, and the heap is
// backed by transparent huge pages where the kernel allows them on request, so first touches of
// fresh memory cost one page fault per 2 MiB rather than per 4 KiB.
#pragma once

#include <cstddef>

namespace midiag::platform {

// Call once, early, in a process that will run one batch job. `reserve_bytes`: heap address space
// prepared (and advised for huge pages) up front; only what is touched becomes resident. Returns
// whether the huge-page advice was applied (false on other libcs or kernels: nothing breaks).
bool tune_heap_for_batch(std::size_t reserve_bytes);

}  // namespace midiag::platform
