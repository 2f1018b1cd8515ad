#pragma once

// Early-return helpers for absl::Status / absl::StatusOr, the shape of the
// ones inside Abseil and gRPC (not exported by the Debian packages).

#define RAPPORT_CONCAT_INNER_(a, b) a##b
#define RAPPORT_CONCAT_(a, b) RAPPORT_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                                 \
  do {                                                        \
    if (auto _rapport_status = (expr); !_rapport_status.ok()) \
      return _rapport_status;                                 \
  } while (0)

// ASSIGN_OR_RETURN(auto x, MaybeX()); declares `x` from an OK StatusOr or
// returns its status.
#define ASSIGN_OR_RETURN(lhs, expr)                                          \
  ASSIGN_OR_RETURN_IMPL_(RAPPORT_CONCAT_(_rapport_statusor_, __LINE__), lhs, \
                         expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)   \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()
