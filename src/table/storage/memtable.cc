// The store's memtable: a single-writer skiplist (memtable.h).
#include "storage/memtable.h"

#include <rocksdb/memtablerep.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

namespace rocksdb {
// RocksDB places a memtable iterator in the arena of the database iterator that owns it when it
// passes one (MemTableRep::GetIterator's contract: the caller then runs the destructor but never
// frees). Arena is internal to RocksDB (memory/arena.h, only forward-declared in its public
// headers); this declares the one member used, which librocksdb exports:
// rocksdb::Arena::AllocateAligned(size_t, size_t, Logger*) (RocksDB's own reps call the same).
class Arena {
 public:
  char* AllocateAligned(size_t bytes, size_t huge_page_size, Logger* logger);
};

// MemTableRep::Get's default (RocksDB 7.8) allocates an iterator and never frees it, so the rep
// implements Get itself; that needs the lookup key, whose class is internal too
// (db/lookup_key.h). Its first members are three pointers: the length-prefixed memtable key
// starts at the first, the internal key at the second, and both end at the third. Get checks
// that they agree before it uses them.
struct lookup_key_layout {
  const char* start;
  const char* kstart;
  const char* end;
};
}  // namespace rocksdb

namespace mysfits::table::storage {

namespace {

constexpr int max_height = 12;  // as RocksDB's skiplist: enough for 4^12 entries
constexpr unsigned branching = 4;

// A node: the entry RocksDB allocated (length-prefixed internal key, then the value), followed
// by `height` links. Written once by the writer before it is published (release store of the
// link that points to it), then read-only but for its links.
struct node {
  const char* key;

  std::atomic<node*>* links() {
    return reinterpret_cast<std::atomic<node*>*>(reinterpret_cast<char*>(this) + sizeof(node));
  }
  node* next(int level) { return links()[level].load(std::memory_order_acquire); }
  void set_next(int level, node* x) { links()[level].store(x, std::memory_order_release); }
  node* next_relaxed(int level) { return links()[level].load(std::memory_order_relaxed); }
};
static_assert(sizeof(node) % alignof(std::atomic<node*>) == 0);

class skiplist_rep final : public rocksdb::MemTableRep {
 public:
  skiplist_rep(const KeyComparator& cmp, rocksdb::Allocator* allocator, bool bytewise)
      : MemTableRep(allocator), cmp_(cmp), bytewise_(bytewise) {
    head_ = new_node(nullptr, max_height);
  }

  void Insert(rocksdb::KeyHandle handle) override {
    const char* key = static_cast<const char*>(handle);
    rocksdb::Slice decoded = cmp_.decode_key(key);
    node* prev[max_height];
    (void)find_greater_or_equal(decoded, prev);
    int height = random_height();
    int current = height_.load(std::memory_order_relaxed);
    if (height > current) {
      for (int i = current; i < height; ++i) prev[i] = head_;
      // A reader that sees the new height before the node finds head_'s null links at the new
      // levels and goes down: harmless (LevelDB's reasoning).
      height_.store(height, std::memory_order_relaxed);
    }
    node* x = new_node(key, height);
    for (int i = 0; i < height; ++i) {
      x->links()[i].store(prev[i]->next_relaxed(i), std::memory_order_relaxed);
      prev[i]->set_next(i, x);
    }
  }

  bool Contains(const char* key) const override {
    rocksdb::Slice decoded = cmp_.decode_key(key);
    node* x = find_greater_or_equal(decoded, nullptr);
    return x != nullptr && compare(x->key, decoded) == 0;
  }

  void Get(const rocksdb::LookupKey& k, void* callback_args,
           bool (*callback_func)(void* arg, const char* entry)) override {
    const auto& layout = reinterpret_cast<const rocksdb::lookup_key_layout&>(k);
    rocksdb::Slice internal(layout.kstart, static_cast<std::size_t>(layout.end - layout.kstart));
    rocksdb::Slice decoded = cmp_.decode_key(layout.start);
    if (decoded.data() != internal.data() || decoded.size() != internal.size()) {
      std::fputs(
          "mysfits-table: RocksDB's LookupKey is not laid out as storage/memtable.cc expects\n",
          stderr);
      std::abort();
    }
    for (node* x = find_greater_or_equal(internal, nullptr);
         x != nullptr && callback_func(callback_args, x->key); x = x->next(0)) {
    }
  }

  size_t ApproximateMemoryUsage() override { return node_bytes_.load(std::memory_order_relaxed); }

  class iterator final : public rocksdb::MemTableRep::Iterator {
   public:
    explicit iterator(const skiplist_rep* list) : list_(list) {}
    bool Valid() const override { return node_ != nullptr; }
    const char* key() const override { return node_->key; }
    void Next() override { node_ = node_->next(0); }
    void Prev() override {
      node_ = list_->find_less_than(list_->cmp_.decode_key(node_->key));
      if (node_ == list_->head_) node_ = nullptr;
    }
    void Seek(const rocksdb::Slice& internal_key, const char*) override {
      node_ = list_->find_greater_or_equal(internal_key, nullptr);
    }
    void SeekForPrev(const rocksdb::Slice& internal_key, const char*) override {
      // The last entry <= target.
      node_ = list_->find_less_than(internal_key);
      node* next = node_->next(0);
      if (next != nullptr && list_->compare(next->key, internal_key) == 0) node_ = next;
      if (node_ == list_->head_) node_ = nullptr;
    }
    void SeekToFirst() override { node_ = list_->head_->next(0); }
    void SeekToLast() override {
      node_ = list_->find_last();
      if (node_ == list_->head_) node_ = nullptr;
    }

   private:
    const skiplist_rep* list_;
    node* node_ = nullptr;
  };

  rocksdb::MemTableRep::Iterator* GetIterator(rocksdb::Arena* arena) override {
    if (arena == nullptr) return new iterator(this);
    void* mem = arena->AllocateAligned(sizeof(iterator), 0, nullptr);
    return new (mem) iterator(this);
  }

 private:
  // An entry (length-prefixed internal key, then its value) against an internal key, in the
  // memtable's order: RocksDB's comparator (MemTable::KeyComparator, CompareKeySeq: user keys,
  // then sequence numbers, higher first; the value type is not compared), or the same order
  // computed here when the user comparator is RocksDB's bytewise one. That skips two virtual
  // calls and the decoding of the key being looked for on each of a lookup's ~20-60 comparisons.
  int compare(const char* entry, const rocksdb::Slice& key) const {
    if (!bytewise_) return cmp_(entry, key);
    std::uint32_t n;
    const char* a = entry;
    if (static_cast<unsigned char>(*a) < 128) {
      n = static_cast<unsigned char>(*a++);
    } else {
      rocksdb::Slice decoded = cmp_.decode_key(entry);
      a = decoded.data();
      n = static_cast<std::uint32_t>(decoded.size());
    }
    std::size_t a_user = n - 8, b_user = key.size() - 8;
    int r = std::memcmp(a, key.data(), std::min(a_user, b_user));
    if (r != 0) return r;
    if (a_user != b_user) return a_user < b_user ? -1 : 1;
    std::uint64_t a_seq, b_seq;  // fixed64, little-endian: sequence << 8 | type
    std::memcpy(&a_seq, a + a_user, 8);
    std::memcpy(&b_seq, key.data() + b_user, 8);
    a_seq >>= 8;
    b_seq >>= 8;
    return a_seq > b_seq ? -1 : (a_seq < b_seq ? 1 : 0);
  }

  // The first node whose key is >= key (null: none); prev[level] (if given) the last node
  // before it at each level.
  node* find_greater_or_equal(const rocksdb::Slice& key, node** prev) const {
    node* x = head_;
    int level = height_.load(std::memory_order_relaxed) - 1;
    for (;;) {
      node* next = x->next(level);
      if (next != nullptr && compare(next->key, key) < 0) {
        x = next;
      } else {
        if (prev != nullptr) prev[level] = x;
        if (level == 0) return next;
        --level;
      }
    }
  }

  // The last node whose key is < key (head_: none): the search's last step before it at level 0.
  // (Only for reverse iteration.)
  node* find_less_than(const rocksdb::Slice& key) const {
    node* prev[max_height];
    (void)find_greater_or_equal(key, prev);
    return prev[0];
  }

  // The last node (head_: the list is empty).
  node* find_last() const {
    node* x = head_;
    int level = height_.load(std::memory_order_relaxed) - 1;
    for (;;) {
      node* next = x->next(level);
      if (next != nullptr) {
        x = next;
      } else {
        if (level == 0) return x;
        --level;
      }
    }
  }

  int random_height() {
    int height = 1;
    while (height < max_height && next_random() % branching == 0) ++height;
    return height;
  }

  std::uint64_t next_random() {  // xorshift64*: only the writer draws
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return (rng_ * 0x2545F4914F6CDD1DULL) >> 32;
  }

  // Nodes live in blocks this rep owns (RocksDB's allocator is internal to it); the writer is
  // the only one to allocate. Freed with the memtable.
  node* new_node(const char* key, int height) {
    std::size_t size = sizeof(node) + sizeof(std::atomic<node*>) * static_cast<std::size_t>(height);
    if (size > block_left_) {
      std::size_t block = std::max<std::size_t>(block_size, size);
      blocks_.push_back(std::make_unique<std::max_align_t[]>(
          (block + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t)));
      block_ptr_ = reinterpret_cast<char*>(blocks_.back().get());
      block_left_ = block;
    }
    // What the nodes take, not the blocks: RocksDB adds this to its arena's size to decide when
    // the memtable is full, and a fresh memtable must not look full with a small write buffer
    // (RocksDB asserts that when it creates one).
    if (key != nullptr) node_bytes_.fetch_add(size, std::memory_order_relaxed);
    auto* n = new (block_ptr_) node{key};
    for (int i = 0; i < height; ++i) new (&n->links()[i]) std::atomic<node*>(nullptr);
    block_ptr_ += size;
    block_left_ -= size;
    return n;
  }

  static constexpr std::size_t block_size = 64 * 1024;

  const KeyComparator& cmp_;
  const bool bytewise_;  // the user comparator is RocksDB's bytewise one: compare() inline
  std::vector<std::unique_ptr<std::max_align_t[]>> blocks_;
  char* block_ptr_ = nullptr;
  std::size_t block_left_ = 0;
  std::atomic<std::size_t> node_bytes_{0};
  node* head_;
  std::atomic<int> height_{1};
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
};

class skiplist_factory final : public rocksdb::MemTableRepFactory {
 public:
  explicit skiplist_factory(bool bytewise) : bytewise_(bytewise) {}
  const char* Name() const override { return "MysfitsSkipListFactory"; }
  using rocksdb::MemTableRepFactory::CreateMemTableRep;
  rocksdb::MemTableRep* CreateMemTableRep(const rocksdb::MemTableRep::KeyComparator& cmp,
                                          rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform*,
                                          rocksdb::Logger*) override {
    return new skiplist_rep(cmp, allocator, bytewise_);
  }

 private:
  bool bytewise_;
};

}  // namespace

std::shared_ptr<rocksdb::MemTableRepFactory> new_skiplist_memtable_factory(
    bool bytewise_comparator) {
  return std::make_shared<skiplist_factory>(bytewise_comparator);
}

}  // namespace mysfits::table::storage
