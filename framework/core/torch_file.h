// Reads a file written by PyTorch's torch.save, as weights files from strangers are read: only
// tensors, numbers, strings and containers come out, and nothing in the file is ever run.
//
// Both of torch.save's formats: the zip archive (PyTorch 1.6 on: `data.pkl` and one record per
// storage) and the older sequence of pickles followed by the storages' bytes. The pickles are
// read by a small pickle machine of our own that knows torch.save's few classes (OrderedDict,
// _rebuild_tensor_v2, _rebuild_parameter, the storage types, LibTorch's type tags); any other class
// is kept as an opaque object whose arguments are dropped (PyTorch's weights_only=True refuses the
// file; here the state_dict may still be found beside it). Every length, offset and tensor extent
// is checked against the bytes the file holds before it is used, so a truncated or hostile file is
// one TorchFileError and never a large allocation, a read out of bounds or a crash.
//
// No LibTorch here: the tensors are descriptions (dtype, sizes, strides, bytes of the file), made
// into LibTorch tensors by the caller (framework/train/weights.cpp), only after their names and
// shapes were matched. The config fuzzer (tools/fuzz) reads torch files through this.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlx {

struct TorchFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A storage's element type, as the file names it (torch.FloatStorage is "float32").
struct TorchDtype {
  std::string name;  // float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool
  int64_t itemsize = 0;  // bytes per element
};

/// A tensor as the file describes it: a strided view of `storage`'s elements.
struct TorchTensor {
  int64_t storage = 0;  // index into TorchFile::storages
  int64_t offset = 0;   // in elements
  std::vector<int64_t> sizes, strides;
  int64_t numel() const;
};

/// One storage: `numel` elements of `dtype`, `bytes` long at `begin` in TorchFile::bytes.
struct TorchStorage {
  TorchDtype dtype;
  int64_t numel = 0;
  size_t begin = 0;
};

/// A value of the unpickled tree.
struct TorchValue {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kBigInt,
    kList,
    kTuple,
    kDict,
    kTensor,
    kObject
  };
  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;  // a string; a big integer's bytes; an object's class (module.name)
  std::vector<std::shared_ptr<TorchValue>>
      items;  // a list's or tuple's; a dict's keys and values alternate
  TorchTensor tensor;

  /// "a dict of 12 entries", "a tensor", "an object of class argparse.Namespace": for messages.
  std::string describe() const;
  /// A dict's entries, in the file's order.
  std::vector<std::pair<const TorchValue*, const TorchValue*>> entries() const;
};

struct TorchFile {
  std::string format;  // "zip" or "legacy"
  std::string bytes;   // the whole file: storages point into it
  std::vector<TorchStorage> storages;
  TorchValue root;

  /// A tensor's elements in the file (little-endian), `tensor.numel()` of them, strided.
  const char* data(const TorchTensor& tensor) const;
};

/// Reads torch.save's bytes. A file that is neither format, is
/// truncated or malformed, or whose records do not hold what they claim is a TorchFileError
/// naming the problem.
TorchFile read_torch_file(std::string bytes);

}  // namespace dlx
