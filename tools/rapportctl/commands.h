#pragma once

// The rapportctl subcommands. Each takes the flags left after the
// connection settings and answers the process exit code: 0 success, 1 the
// call or the input failed, 2 usage error.

#include <string>

#include "common/config/config.h"
#include "tools/rapportctl/flags.h"

namespace rapport::ctl {

// health [--target host:port] [--service NAME] [--timeout-ms N]
int RunHealth(const config::Config& config, Args args);

// hash-key API_KEY [--tenant T] [--team TEAM] [--role ROLE] [--name LABEL]
int RunHashKey(Args args);

// contact upsert|get|list|delete ...
int RunContact(const config::Config& config, const std::string& verb,
               Args args);

// interaction add|import-csv ...
int RunInteraction(const config::Config& config, const std::string& verb,
                   Args args);

// import-csv FILE [--batch N] [--dry-run]
int RunImportCsv(const config::Config& config, Args args);

// feedback submit|list|dead-letters|replay-dead-letters ...
int RunFeedback(const config::Config& config, const std::string& verb,
                Args args);

// digest [--team TEAM] [--days N]
int RunDigest(const config::Config& config, Args args);

int RunScore(const config::Config& config, Args args);

}  // namespace rapport::ctl
