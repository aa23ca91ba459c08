// What the files of built-in layer types share: the argument-less args struct, the image check,
// and the function that makes a registry entry from an args struct and a build function.
#pragma once

#include <string>
#include <vector>

#include "framework/config/reader.h"
#include "framework/nn/layer_registry.h"

namespace dlx::nn {

struct NoArgs {
  template <class V>
  void visit(V&) {}
};

inline void require_image(const BuildInput& in, const char* type) {
  if (in.shape.size() != 3) {
    throw shape_error(in, std::string(type) +
                              " needs an image input (N, C, H, W), but the input is " +
                              (in.shape.size() == 2 ? "tokens (N, T, D)" : "not one"));
  }
}

template <class Args, BuiltLayer (*Build)(const Args&, const BuildInput&)>
inline LayerType make_layer(const char* type, const char* prefix, const char* summary) {
  return LayerType{type, prefix, summary,
                   [](config::Reader& reader, const BuildInput& in) {
                     Args args;
                     std::vector<std::string> known = config::KeyNames::of(args);
                     known.push_back("name");  // read by the builder
                     reader.reject_unknown(known);
                     args.visit(reader);
                     reader.finish();
                     return Build(args, in);
                   },
                   [] {
                     Args args;
                     return config::KeyLister::list(args);
                   }};
}

}  // namespace dlx::nn
