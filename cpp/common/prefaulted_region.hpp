// Memory faulted in ahead of use, by a background thread.
//
// The first write to a freshly mapped page is a page fault: the kernel finds and zeroes a page
// (~3 µs on a virtual machine). A store that keeps every payment's documents touches ~3 fresh
// pages per payment; taking its memory from regions another thread has already written moves
// those faults off the payment's thread. The thread is plain C++ (it never needs Python's GIL,
// so handing a region over costs the caller no thread switch).
#pragma once

#include <cstddef>
#include <cstdint>

namespace radarcore {

class PrefaultedRegion {
 public:
  // A zero-filled region of `bytes` (> 0): the one the background thread had ready for this
  // size (prefaulted() is then true), else one mapped now, whose pages fault on first write.
  // With `prepare_next`, the thread then prepares the next region of this size (one ahead per
  // size), so a caller that takes regions of one size, well apart, gets them all prefaulted;
  // without it (a one-off size) nothing is prepared. Thread-safe. After fork() the child drops
  // the regions prepared for the parent and starts its own thread on first use. Throws
  // std::bad_alloc when no memory can be mapped.
  explicit PrefaultedRegion(size_t bytes, bool prepare_next = true);
  ~PrefaultedRegion();
  PrefaultedRegion(const PrefaultedRegion&) = delete;
  PrefaultedRegion& operator=(const PrefaultedRegion&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool prefaulted() const { return prefaulted_; }

 private:
  uint8_t* data_;
  size_t size_;
  bool prefaulted_;
};

}  // namespace radarcore
