#include "common/prefaulted_region.hpp"

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#if __has_include(<sys/mman.h>) && __has_include(<pthread.h>) && __has_include(<unistd.h>)
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#define RADARCORE_PREFAULT 1
#endif

namespace radarcore {
namespace {

#ifdef RADARCORE_PREFAULT

uint8_t* MapRegion(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<uint8_t*>(p);
}

// The background thread and the regions it has ready, one per size asked for. One per process,
// never destroyed (its thread is detached and may be waiting at exit).
class Reserve {
 public:
  static Reserve& Get() {
    static Reserve* reserve = [] {
      auto* r = new Reserve();
      pthread_atfork([] { Get().mutex_->lock(); }, [] { Get().mutex_->unlock(); },
                     [] { Get().AfterForkInChild(); });
      return r;
    }();
    return *reserve;
  }

  // A ready region of `bytes` (nullptr if none); asks for the next one if `prepare_next`.
  uint8_t* Take(size_t bytes, bool prepare_next) {
    std::lock_guard<std::mutex> lock(*mutex_);
    uint8_t* taken = nullptr;
    for (auto it = ready_.begin(); it != ready_.end(); ++it) {
      if (it->first == bytes) {
        taken = it->second;
        ready_.erase(it);
        break;
      }
    }
    bool asked = !prepare_next;
    for (size_t size : wanted_) asked = asked || size == bytes;
    if (!asked) {
      wanted_.push_back(bytes);
      if (!running_) {
        running_ = true;
        std::thread([this] { Run(); }).detach();
      }
      wake_->notify_one();
    }
    return taken;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(*mutex_);
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    for (;;) {
      wake_->wait(lock, [this] { return !wanted_.empty(); });
      const size_t bytes = wanted_.front();
      lock.unlock();
      uint8_t* region = nullptr;
      try {
        region = MapRegion(bytes);
        // Writing a zero into each page faults it in (the page is zero already).
        for (size_t offset = 0; offset < bytes; offset += page) {
          reinterpret_cast<volatile uint8_t*>(region)[offset] = 0;
        }
      } catch (const std::bad_alloc&) {
        region = nullptr;  // the caller maps its own
      }
      lock.lock();
      wanted_.erase(wanted_.begin());
      if (region != nullptr) ready_.emplace_back(bytes, region);
    }
  }

  // The child has no thread, and the parent's ready regions would cost copy-on-write faults.
  // Its copies of the mutex (locked by the prepare handler) and of the condition variable
  // (which may record the parent's thread as a waiter: signalling it would wait for that
  // thread forever) are abandoned for new ones.
  void AfterForkInChild() {
    for (const auto& [bytes, region] : ready_) munmap(region, bytes);
    ready_.clear();
    wanted_.clear();
    running_ = false;
    mutex_ = new std::mutex();
    wake_ = new std::condition_variable();
  }

  // Never freed (see AfterForkInChild; the Reserve itself lives as long as the process).
  std::mutex* mutex_ = new std::mutex();
  std::condition_variable* wake_ = new std::condition_variable();
  std::vector<std::pair<size_t, uint8_t*>> ready_;
  std::vector<size_t> wanted_;  // sizes asked for, first being made
  bool running_ = false;
};

#endif

}  // namespace

PrefaultedRegion::PrefaultedRegion(size_t bytes, bool prepare_next)
    : data_(nullptr), size_(bytes), prefaulted_(false) {
  if (bytes == 0) throw std::invalid_argument("PrefaultedRegion: size must be at least 1 byte");
#ifdef RADARCORE_PREFAULT
  data_ = Reserve::Get().Take(bytes, prepare_next);
  prefaulted_ = data_ != nullptr;
  if (data_ == nullptr) data_ = MapRegion(bytes);
#else
  (void)prepare_next;
  data_ = static_cast<uint8_t*>(std::calloc(bytes, 1));
  if (data_ == nullptr) throw std::bad_alloc();
#endif
}

PrefaultedRegion::~PrefaultedRegion() {
#ifdef RADARCORE_PREFAULT
  munmap(data_, size_);
#else
  std::free(data_);
#endif
}

}  // namespace radarcore
