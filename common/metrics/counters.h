#pragma once

// Registering pre-resolved Prometheus counters and gauges in one call
// (STYLE.md #7: families registered at start-up, label sets resolved once).
// A family is identified by its name: asking again for a name already
// registered returns the same family (prometheus-cpp keeps the first help
// text), so the counters of one family that differ by a fixed label value
// are built one call each, with the same help:
//
//   hits_(metrics::Counter(registry, "rapport_x_total", kHelp, {{"result",
//   "hit"}})), misses_(metrics::Counter(registry, "rapport_x_total", kHelp,
//   {{"result", "miss"}})),
//
// Label values must come from closed sets (never request data).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/labels.h>
#include <prometheus/registry.h>

#include <string>

namespace rapport::metrics {

inline prometheus::Counter& Counter(prometheus::Registry& registry,
                                    const std::string& name,
                                    const std::string& help,
                                    const prometheus::Labels& labels = {}) {
  return prometheus::BuildCounter()
      .Name(name)
      .Help(help)
      .Register(registry)
      .Add(labels);
}

inline prometheus::Gauge& Gauge(prometheus::Registry& registry,
                                const std::string& name,
                                const std::string& help,
                                const prometheus::Labels& labels = {}) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add(
      labels);
}

}  // namespace rapport::metrics
