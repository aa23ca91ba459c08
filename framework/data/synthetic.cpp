// The generated dataset for tests: a random template per class, each example its template plus
// noise, from a fixed seed (the data is part of the experiment's definition, not its randomness).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>

#include "framework/data/registry.h"

namespace dlx::data {

namespace {

Split synthetic_split(const at::Tensor& templates, int64_t size, double noise, at::Generator& gen) {
  const int64_t classes = templates.size(0);
  at::Tensor labels = at::randint(classes, {size}, gen, at::kLong);
  at::Tensor images =
      templates.index_select(0, labels) +
      noise * at::randn({size, templates.size(1), templates.size(2), templates.size(3)}, gen,
                        at::kFloat);
  images = (images.clamp(0, 1) * 255).round().to(at::kByte);
  return Split{images, labels};
}

}  // namespace

Dataset make_synthetic(const config::SyntheticSpec& spec) {
  // A fixed seed: the data is part of the experiment's definition, not of its randomness.
  at::Generator gen = at::detail::createCPUGenerator(20121203);
  at::Tensor templates =
      at::randn({spec.classes, spec.channels, spec.size, spec.size}, gen, at::kFloat)
          .mul(0.25)
          .add(0.5);
  Dataset d;
  d.name = "synthetic";
  d.source = "generated";
  for (int64_t c = 0; c < spec.classes; ++c) d.class_names.push_back("class " + std::to_string(c));
  d.train = synthetic_split(templates, spec.train_size, spec.noise, gen);
  d.test = synthetic_split(templates, spec.test_size, spec.noise, gen);
  return d;
}

DatasetEntry synthetic_dataset() {
  return {"synthetic",
          "generated: a template per class plus noise (data.synthetic), for tests",
          {"data.synthetic"},
          [](const config::DataSpec& spec) {
            const config::SyntheticSpec& s = spec.synthetic;
            return StoredGeometry{s.channels, s.size, s.size, s.classes};
          },
          [](const config::DataSpec& spec) { return make_synthetic(spec.synthetic); },
          {},
          {}};
}

}  // namespace dlx::data
