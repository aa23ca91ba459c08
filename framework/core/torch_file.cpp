#include "framework/core/torch_file.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace dlx {

namespace {

using Value = std::shared_ptr<TorchValue>;
using Kind = TorchValue::Kind;

[[noreturn]] void fail(const std::string& what) {
  throw TorchFileError(what);
}

// ---- little-endian fields, each read inside the bytes or not at all ----

uint64_t le(std::string_view b, size_t at, int n) {
  if (at > b.size() || size_t(n) > b.size() - at) fail("truncated (a field past the end)");
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(b[at + size_t(i)]);
  return v;
}

// ---- the zip archive: its central directory, stored (uncompressed) records only ----

struct Record {
  std::string name;
  size_t begin = 0, size = 0;
  uint32_t crc = 0;
};

// Zip64's extra field replaces the 32-bit sizes and offset that are all ones, in this order.
void zip64_fields(std::string_view b, size_t extra, size_t extra_len, uint64_t& size,
                  uint64_t& compressed, uint64_t& offset) {
  for (size_t at = extra; at + 4 <= extra + extra_len;) {
    const uint64_t id = le(b, at, 2), len = le(b, at + 2, 2);
    size_t field = at + 4;
    if (id == 1) {
      for (uint64_t* v : {&size, &compressed, &offset})
        if (*v == 0xffffffffu) *v = le(b, field, 8), field += 8;
      return;
    }
    at += 4 + len;
  }
}

std::vector<Record> zip_records(std::string_view b) {
  if (b.size() < 22) fail("truncated (shorter than a zip archive's end record)");
  size_t end = std::string_view::npos;
  const size_t lowest = b.size() >= 22 + 65535 ? b.size() - 22 - 65535 : 0;
  for (size_t at = b.size() - 22 + 1; at-- > lowest;)
    if (le(b, at, 4) == 0x06054b50) {
      end = at;
      break;
    }
  if (end == std::string_view::npos) fail("truncated (the zip archive's directory is missing)");
  uint64_t entries = le(b, end + 10, 2), dir = le(b, end + 16, 4);
  if (entries == 0xffff || dir == 0xffffffffu) {  // zip64: its own end record says where
    if (end < 20 || le(b, end - 20, 4) != 0x07064b50) fail("malformed zip64 locator");
    const uint64_t end64 = le(b, end - 20 + 8, 8);
    if (end64 > b.size() || le(b, size_t(end64), 4) != 0x06064b50)
      fail("malformed zip64 end record");
    entries = le(b, size_t(end64) + 32, 8);
    dir = le(b, size_t(end64) + 48, 8);
  }
  if (dir > b.size() || entries > (b.size() - dir) / 46)
    fail("truncated (the zip directory claims more entries than the file holds)");
  std::vector<Record> out;
  size_t at = size_t(dir);
  for (uint64_t i = 0; i < entries; ++i) {
    if (le(b, at, 4) != 0x02014b50) fail("malformed zip directory entry");
    const uint64_t flags = le(b, at + 8, 2), method = le(b, at + 10, 2);
    uint64_t compressed = le(b, at + 20, 4), size = le(b, at + 24, 4), offset = le(b, at + 42, 4);
    const size_t name_len = le(b, at + 28, 2), extra_len = le(b, at + 30, 2),
                 comment_len = le(b, at + 32, 2);
    Record r;
    r.crc = uint32_t(le(b, at + 16, 4));
    if (at + 46 + name_len > b.size()) fail("truncated zip directory");
    r.name = std::string(b.substr(at + 46, name_len));
    zip64_fields(b, at + 46 + name_len, extra_len, size, compressed, offset);
    if (flags & 1) fail("record " + r.name + " is encrypted");
    if (method != 0 || compressed != size)
      fail("record " + r.name + " is compressed (torch.save stores records uncompressed)");
    if (offset > b.size() || le(b, size_t(offset), 4) != 0x04034b50)
      fail("record " + r.name + " has no local header where the directory says");
    const uint64_t data =
        offset + 30 + le(b, size_t(offset) + 26, 2) + le(b, size_t(offset) + 28, 2);
    if (data > b.size() || size > b.size() - data)
      fail("truncated (record " + r.name + " claims " + std::to_string(size) +
           " bytes past the end of the file)");
    r.begin = size_t(data);
    r.size = size_t(size);
    out.push_back(std::move(r));
    at += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

void check_crc(std::string_view b, const Record& r) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < r.size;) {  // crc32 takes at most 4 GiB at a time
    const size_t n = std::min<size_t>(r.size - done, size_t(1) << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(b.data() + r.begin + done), uInt(n));
    done += n;
  }
  if (uint32_t(crc) != r.crc) fail("record " + r.name + " is corrupt (its checksum differs)");
}

// ---- the storage types torch.save names ----

bool storage_dtype(const std::string& cls, TorchDtype& out) {
  static const std::map<std::string, TorchDtype> types{
      {"torch.FloatStorage", {"float32", 4}}, {"torch.DoubleStorage", {"float64", 8}},
      {"torch.HalfStorage", {"float16", 2}},  {"torch.BFloat16Storage", {"bfloat16", 2}},
      {"torch.LongStorage", {"int64", 8}},    {"torch.IntStorage", {"int32", 4}},
      {"torch.ShortStorage", {"int16", 2}},   {"torch.CharStorage", {"int8", 1}},
      {"torch.ByteStorage", {"uint8", 1}},    {"torch.BoolStorage", {"bool", 1}},
      {"torch.UntypedStorage", {"uint8", 1}},
  };
  auto it = types.find(cls);
  if (it == types.end()) return false;
  out = it->second;
  return true;
}

Value make(Kind kind) {
  auto v = std::make_shared<TorchValue>();
  v->kind = kind;
  return v;
}

// A persistent id ('storage', type, key, location, numel, ...) to the storage's index.
using Persistent = std::function<int64_t(const TorchValue& pid)>;

// ---- the pickle machine: torch.save's opcodes, protocol 2 (and 4's framing) ----

constexpr size_t kMaxDepth = 1000;  // nested containers: deeper is hostile, not a state_dict

class Unpickler {
 public:
  Unpickler(std::string_view b, size_t at, TorchFile& file, Persistent persistent)
      : b_(b), at_(at), file_(file), persistent_(std::move(persistent)) {}

  Value run() {
    for (;;) {
      const uint8_t op = uint8_t(byte());
      if (op == '.') {
        if (stack_.size() != 1 || !marks_.empty()) fail("malformed pickle (unbalanced at its end)");
        return stack_.back();
      }
      step(op);
    }
  }
  size_t end() const { return at_; }

 private:
  char byte() {
    if (at_ >= b_.size()) fail("truncated pickle");
    return b_[at_++];
  }
  uint64_t uint(int n) {
    const uint64_t v = le(b_, at_, n);
    at_ += size_t(n);
    return v;
  }
  std::string text(uint64_t n) {
    if (n > b_.size() - at_) fail("truncated pickle (a string past the end)");
    std::string s(b_.substr(at_, size_t(n)));
    at_ += size_t(n);
    return s;
  }
  std::string line() {
    const size_t nl = b_.find('\n', at_);
    if (nl == std::string_view::npos) fail("truncated pickle (a class name without its end)");
    const size_t n = nl - at_;
    std::string s = text(n + 1);
    s.pop_back();
    return s;
  }
  Value pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      fail("malformed pickle (reads below its stack)");
    Value v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.empty()) fail("malformed pickle (empty stack)");
    return stack_.back();
  }
  std::vector<Value> pop_mark() {
    if (marks_.empty()) fail("malformed pickle (no mark)");
    std::vector<Value> items(stack_.begin() + long(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void push(Value v) {
    if (stack_.size() > (size_t(1) << 24)) fail("malformed pickle (stack too deep)");
    stack_.push_back(std::move(v));
  }
  Value number(Kind kind, int64_t i, double r = 0) {
    Value v = make(kind);
    v->integer = i;
    v->real = r;
    v->boolean = i != 0;
    return v;
  }
  Value sequence(Kind kind, std::vector<Value> items) {
    Value v = make(kind);
    for (const auto& item : items) contain(v, item);
    v->items = std::move(items);
    return v;
  }
  // A container is filled before it goes into another (torch.save's pickles always are): one
  // that is already inside another takes no more items, so no container can hold itself, and
  // nesting deeper than kMaxDepth is refused (its values are freed recursively).
  // Both stay alive until the end, so that no other value takes their addresses.
  void contain(const Value& parent, const Value& child) {
    if (parent == child || contained_.count(parent.get()))
      fail("malformed pickle (a container filled after it was put in another)");
    alive_.push_back(parent);
    alive_.push_back(child);
    contained_.insert(child.get());
    int& d = depth_[parent.get()];
    d = std::max(d, depth_[child.get()] + 1);
    if (size_t(d) > kMaxDepth) fail("malformed pickle (containers nested too deep)");
  }
  void add(Kind kind, std::vector<Value> items) {  // APPEND(S), SETITEM(S) into the top
    Value& target = top();
    if (target->kind == Kind::kObject) return;  // an opaque object's contents are dropped
    if (target->kind != kind) fail("malformed pickle (items added to " + target->describe() + ")");
    if (kind == Kind::kDict && items.size() % 2) fail("malformed pickle (a key without a value)");
    for (auto& v : items) {
      contain(target, v);
      target->items.push_back(std::move(v));
    }
  }
  void push_tuple(size_t n) {
    std::vector<Value> items(n);
    for (size_t i = n; i-- > 0;) items[i] = pop();
    push(sequence(Kind::kTuple, std::move(items)));
  }
  void push_text(int length_bytes) {
    Value v = make(Kind::kString);
    v->text = text(uint(length_bytes));
    push(v);
  }
  // A class or function by name: only ever compared with the names reduce() knows.
  void push_class(const std::string& module, const std::string& name) {
    Value v = make(Kind::kObject);
    v->text = module + "." + name;
    v->boolean = true;
    push(v);
  }
  void memo_put(uint64_t index) { memo_[index] = top(); }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("malformed pickle (reads a memo it never wrote)");
    push(it->second);
  }

  Value long1(uint64_t n) {
    const std::string bytes = text(n);
    if (n <= 8) {
      uint64_t v = 0;
      for (size_t i = n; i-- > 0;) v = (v << 8) | uint8_t(bytes[i]);
      if (n > 0 && n < 8 && (uint8_t(bytes[n - 1]) & 0x80)) v -= uint64_t(1) << (8 * n);
      return number(Kind::kInt, int64_t(v));
    }
    Value v = make(Kind::kBigInt);
    v->text = bytes;
    return v;
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80:
        byte();
        break;  // PROTO
      case 0x95:
        uint(8);
        break;  // FRAME: a length hint
      case '(':
        marks_.push_back(stack_.size());
        if (marks_.size() > kMaxDepth) fail("malformed pickle (marks nested too deep)");
        break;
      case '}':
        push(make(Kind::kDict));
        break;
      case ']':
        push(make(Kind::kList));
        break;
      case ')':
        push(make(Kind::kTuple));
        break;
      case 't':
        push(sequence(Kind::kTuple, pop_mark()));
        break;
      case 'l':
        push(sequence(Kind::kList, pop_mark()));
        break;
      case 'd': {
        auto items = pop_mark();
        if (items.size() % 2) fail("malformed pickle (a key without a value)");
        push(sequence(Kind::kDict, std::move(items)));
        break;
      }
      case 0x85:
        push_tuple(1);
        break;  // TUPLE1..3
      case 0x86:
        push_tuple(2);
        break;
      case 0x87:
        push_tuple(3);
        break;
      case 'X':
        push_text(4);
        break;  // BINUNICODE
      case 0x8c:
        push_text(1);
        break;  // SHORT_BINUNICODE
      case 0x8d:
        push_text(8);
        break;  // BINUNICODE8
      case 'C':
        push_text(1);
        break;  // SHORT_BINBYTES: kept as a string
      case 'B':
        push_text(4);
        break;  // BINBYTES
      case 'J':
        push(number(Kind::kInt, int64_t(int32_t(uint32_t(uint(4))))));
        break;
      case 'K':
        push(number(Kind::kInt, int64_t(uint(1))));
        break;
      case 'M':
        push(number(Kind::kInt, int64_t(uint(2))));
        break;
      case 0x8a:
        push(long1(uint(1)));
        break;
      case 'G': {  // BINFLOAT: big-endian
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | uint8_t(byte());
        double d;
        std::memcpy(&d, &bits, 8);
        push(number(Kind::kFloat, 0, d));
        break;
      }
      case 0x88:
        push(number(Kind::kBool, 1));
        break;
      case 0x89:
        push(number(Kind::kBool, 0));
        break;
      case 'N':
        push(make(Kind::kNone));
        break;
      case 'c': {  // GLOBAL
        std::string module = line();
        push_class(module, line());
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Value name = pop(), module = pop();
        if (name->kind != Kind::kString || module->kind != Kind::kString)
          fail("malformed pickle (a class named by non-strings)");
        push_class(module->text, name->text);
        break;
      }
      case 'R':
      case 0x81: {
        Value args = pop(), callable = pop();
        push(reduce(*callable, *args));
        break;
      }  // REDUCE, NEWOBJ
      case 'b':
        pop();
        break;  // BUILD: an object's state (OrderedDict's _metadata): dropped
      case 's': {
        Value v = pop(), k = pop();
        add(Kind::kDict, {k, v});
        break;
      }
      case 'u':
        add(Kind::kDict, pop_mark());
        break;
      case 'a': {
        Value v = pop();
        add(Kind::kList, {v});
        break;
      }
      case 'e':
        add(Kind::kList, pop_mark());
        break;
      case 'q':
        memo_put(uint(1));
        break;
      case 'r':
        memo_put(uint(4));
        break;
      case 0x94:
        memo_put(memo_.size());
        break;  // MEMOIZE
      case 'h':
        memo_get(uint(1));
        break;
      case 'j':
        memo_get(uint(4));
        break;
      case 'Q': {
        Value pid = pop();
        Value s = make(Kind::kObject);
        s->text = "torch storage";
        s->integer = persistent_(*pid);
        push(s);
        break;
      }
      case '0':
        pop();
        break;  // POP
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex + " (not one torch.save writes)");
      }
    }
  }

  Value reduce(const TorchValue& callable, const TorchValue& args) {
    const std::string& cls = callable.text;
    if (callable.kind != Kind::kObject || !callable.boolean)
      fail("malformed pickle (calls " + callable.describe() + ")");
    if (args.kind != Kind::kTuple)
      fail("malformed pickle (" + cls + "'s arguments are not a tuple)");
    const auto& a = args.items;
    if (cls == "collections.OrderedDict") return make(Kind::kDict);
    if (cls == "torch._utils._rebuild_tensor_v2" || cls == "torch._utils._rebuild_tensor")
      return rebuild_tensor(a);
    if (cls == "torch._utils._rebuild_parameter" ||
        cls == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Kind::kTensor)
        fail("malformed pickle (a parameter without its tensor)");
      return a[0];
    }
    if (cls == "torch.Size" && a.size() == 1 && a[0]->kind == Kind::kTuple) return a[0];
    // LibTorch's pickle_save (dlx's own checkpoints) tags a typed container with its type.
    if (cls == "torch.jit._pickle.restore_type_tag" && !a.empty()) return a[0];
    Value v = make(Kind::kObject);  // anything else: never called, kept opaque
    v->text = cls;
    return v;
  }

  static bool ints(const TorchValue& v, std::vector<int64_t>& out) {
    if (v.kind != Kind::kTuple && v.kind != Kind::kList) return false;
    for (const auto& i : v.items) {
      if (i->kind != Kind::kInt || i->integer < 0) return false;
      out.push_back(i->integer);
    }
    return true;
  }

  // (storage, offset, size, stride, ...): the view must lie inside the storage's elements.
  Value rebuild_tensor(const std::vector<Value>& a) {
    if (a.size() < 4 || a[0]->kind != Kind::kObject || a[0]->text != "torch storage" ||
        a[1]->kind != Kind::kInt || a[1]->integer < 0)
      fail("malformed tensor record");
    Value v = make(Kind::kTensor);
    TorchTensor& t = v->tensor;
    t.storage = a[0]->integer;
    t.offset = a[1]->integer;
    if (!ints(*a[2], t.sizes) || !ints(*a[3], t.strides) || t.sizes.size() != t.strides.size())
      fail("malformed tensor record (its sizes or strides)");
    if (t.storage < 0 || size_t(t.storage) >= file_.storages.size())
      fail("malformed tensor record");
    const TorchStorage& s = file_.storages[size_t(t.storage)];
    bool empty = false;
    for (int64_t n : t.sizes) empty = empty || n == 0;
    if (!empty) {
      int64_t last = t.offset;  // the furthest element the view reads
      for (size_t i = 0; i < t.sizes.size(); ++i) {
        int64_t span;
        if (__builtin_mul_overflow(t.sizes[i] - 1, t.strides[i], &span) ||
            __builtin_add_overflow(last, span, &last))
          fail("a tensor's extent overflows");
      }
      if (last >= s.numel)
        fail("a tensor of " + std::to_string(t.numel()) + " elements reads past its storage of " +
             std::to_string(s.numel));
    }
    return v;
  }

  std::string_view b_;
  size_t at_;
  TorchFile& file_;
  Persistent persistent_;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value> memo_;
  std::unordered_set<const TorchValue*> contained_;
  std::unordered_map<const TorchValue*, int> depth_;
  std::vector<Value> alive_;
};

// ('storage', type, key, location, numel, ...): checks its shape; returns type, key, numel.
void storage_id(const TorchValue& pid, TorchDtype& dtype, std::string& key, int64_t& numel) {
  const auto& p = pid.items;
  if (pid.kind != Kind::kTuple || p.size() < 5 || p[0]->kind != Kind::kString ||
      p[0]->text != "storage" || p[1]->kind != Kind::kObject || p[2]->kind != Kind::kString ||
      p[4]->kind != Kind::kInt || p[4]->integer < 0)
    fail("malformed storage record");
  if (!storage_dtype(p[1]->text, dtype)) fail("unsupported storage type " + p[1]->text);
  key = p[2]->text;
  numel = p[4]->integer;
}

void read_zip(TorchFile& file) {
  const std::string_view b = file.bytes;
  std::vector<Record> records = zip_records(b);
  std::string prefix;
  const Record* pickle = nullptr;
  for (const auto& r : records) {
    const size_t slash = r.name.find('/');
    if (slash != std::string::npos && r.name.substr(slash + 1) == "data.pkl") {
      pickle = &r;
      prefix = r.name.substr(0, slash + 1);
    }
  }
  if (!pickle) fail("a zip archive without data.pkl (not written by torch.save)");
  std::unordered_map<std::string, const Record*> by_name;
  for (const auto& r : records) by_name[r.name] = &r;
  if (auto it = by_name.find(prefix + "byteorder"); it != by_name.end()) {
    if (b.substr(it->second->begin, it->second->size) != "little")
      fail("written on a big-endian machine (byteorder " +
           std::string(b.substr(it->second->begin, std::min<size_t>(it->second->size, 16))) + ")");
  }
  check_crc(b, *pickle);
  std::unordered_map<std::string, int64_t> seen;
  Persistent persistent = [&](const TorchValue& pid) -> int64_t {
    TorchDtype dtype;
    std::string key;
    int64_t numel;
    storage_id(pid, dtype, key, numel);
    if (auto it = seen.find(key); it != seen.end()) return it->second;
    auto rec = by_name.find(prefix + "data/" + key);
    if (rec == by_name.end()) fail("storage " + key + " has no record in the archive");
    const Record& r = *rec->second;
    if (numel > int64_t(r.size) / dtype.itemsize)
      fail("storage " + key + " claims " + std::to_string(numel) + " elements; its record holds " +
           std::to_string(r.size / size_t(dtype.itemsize)));
    check_crc(b, r);
    file.storages.push_back({dtype, numel, r.begin});
    return seen[key] = int64_t(file.storages.size()) - 1;
  };
  Unpickler u(b.substr(0, pickle->begin + pickle->size), pickle->begin, file, persistent);
  file.root = *u.run();
  file.format = "zip";
}

// The format before 1.6: magic number, protocol, system info, the object, the storage keys, then
// each storage as its element count (int64) and its bytes, in the keys' order.
void read_legacy(TorchFile& file) {
  const std::string_view b = file.bytes;
  auto none = [](const TorchValue&) -> int64_t { fail("malformed header (a storage in it)"); };
  Unpickler magic(b, 0, file, none);
  const Value m = magic.run();
  static const std::string kMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
  if (m->kind != Kind::kBigInt || m->text != kMagic) fail("not a PyTorch file (no magic number)");
  Unpickler protocol(b, magic.end(), file, none);
  const Value p = protocol.run();
  if (p->kind != Kind::kInt || p->integer != 1001)
    fail("unsupported legacy protocol " + p->describe());
  Unpickler info(b, protocol.end(), file, none);
  const Value sys = info.run();
  for (auto [k, v] : sys->entries())
    if (k->text == "little_endian" && v->kind == Kind::kBool && !v->boolean)
      fail("written on a big-endian machine");
  std::unordered_map<std::string, int64_t> seen;
  Persistent persistent = [&](const TorchValue& pid) -> int64_t {
    TorchDtype dtype;
    std::string key;
    int64_t numel;
    storage_id(pid, dtype, key, numel);
    if (pid.items.size() > 5 && pid.items[5]->kind != Kind::kNone)
      fail("storage views of PyTorch before 1.0 are not supported; re-save the file");
    if (auto it = seen.find(key); it != seen.end()) return it->second;
    file.storages.push_back({dtype, numel, 0});
    return seen[key] = int64_t(file.storages.size()) - 1;
  };
  Unpickler object(b, info.end(), file, persistent);
  file.root = *object.run();
  Unpickler keys(b, object.end(), file, none);
  const Value list = keys.run();
  if (list->kind != Kind::kList) fail("malformed storage list");
  size_t at = keys.end();
  for (const auto& k : list->items) {
    auto it = k->kind == Kind::kString ? seen.find(k->text) : seen.end();
    if (it == seen.end()) fail("malformed storage list (a key no tensor uses)");
    TorchStorage& s = file.storages[size_t(it->second)];
    const uint64_t numel = le(b, at, 8);
    if (numel != uint64_t(s.numel))
      fail("storage " + k->text + " holds " + std::to_string(numel) +
           " elements, its record says " + std::to_string(s.numel));
    at += 8;
    if (numel > (b.size() - at) / uint64_t(s.dtype.itemsize))
      fail("truncated (storage " + k->text + " claims bytes past the end of the file)");
    s.begin = at;
    at += size_t(numel) * size_t(s.dtype.itemsize);
    s.numel = int64_t(numel);
    seen.erase(it);
  }
  if (!seen.empty()) fail("truncated (a storage's bytes are missing)");
  file.format = "legacy";
}

}  // namespace

int64_t TorchTensor::numel() const {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return n;
}

std::string TorchValue::describe() const {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "a boolean";
    case Kind::kInt:
    case Kind::kBigInt:
      return "an integer";
    case Kind::kFloat:
      return "a number";
    case Kind::kString:
      return "a string";
    case Kind::kList:
      return "a list of " + std::to_string(items.size());
    case Kind::kTuple:
      return "a tuple of " + std::to_string(items.size());
    case Kind::kDict:
      return "a dictionary of " + std::to_string(items.size() / 2) + " entries";
    case Kind::kTensor:
      return "a tensor";
    case Kind::kObject:
      return text == "torch storage" ? "a storage" : "an object of class " + text;
  }
  return "?";
}

std::vector<std::pair<const TorchValue*, const TorchValue*>> TorchValue::entries() const {
  std::vector<std::pair<const TorchValue*, const TorchValue*>> out;
  if (kind != Kind::kDict) return out;
  for (size_t i = 0; i + 1 < items.size(); i += 2)
    out.emplace_back(items[i].get(), items[i + 1].get());
  return out;
}

const char* TorchFile::data(const TorchTensor& tensor) const {
  const TorchStorage& s = storages.at(size_t(tensor.storage));
  return bytes.data() + s.begin + size_t(tensor.offset) * size_t(s.dtype.itemsize);
}

TorchFile read_torch_file(std::string bytes) {
  TorchFile file;
  file.bytes = std::move(bytes);
  if (file.bytes.size() >= 4 && file.bytes.compare(0, 4, "PK\x03\x04") == 0) {
    read_zip(file);
  } else if (file.bytes.size() >= 2 && uint8_t(file.bytes[0]) == 0x80) {
    read_legacy(file);
  } else {
    fail("not a PyTorch file (neither torch.save's zip archive nor its older pickle format)");
  }
  return file;
}

}  // namespace dlx
