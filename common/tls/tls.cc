#include "common/tls/tls.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace rapport::tls {
namespace {

constexpr char kCertSetting[] = "RAPPORT_TLS_CERT_FILE";
constexpr char kKeySetting[] = "RAPPORT_TLS_KEY_FILE";
constexpr char kClientCaSetting[] = "RAPPORT_TLS_CLIENT_CA_FILE";
constexpr char kCaSetting[] = "RAPPORT_TLS_CA_FILE";

// PEM bundles are a few KB (a system CA bundle ~200 KB); the cap keeps a
// mistaken path such as /dev/zero from reading forever.
constexpr size_t kMaxPemBytes = 4 << 20;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// OpenSSL keeps a per-thread error queue that gRPC's own OpenSSL calls on
// this thread would otherwise find; every check leaves it empty.
class ClearOpensslErrors {
 public:
  ClearOpensslErrors() = default;
  ClearOpensslErrors(const ClearOpensslErrors&) = delete;
  ClearOpensslErrors& operator=(const ClearOpensslErrors&) = delete;
  ~ClearOpensslErrors() { ERR_clear_error(); }
};

absl::Status FileError(const char* setting, const std::string& path,
                       absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(setting, ": ", path, " ", problem));
}

// Reads a whole PEM file; errors name the setting, the path and the errno
// text ("cannot read /x/cert.pem: No such file or directory").
absl::StatusOr<std::string> ReadPemFile(const char* setting,
                                        const std::string& path) {
  auto cannot_read = [&](int err) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": cannot read ", path, ": ",
                     std::generic_category().message(err)));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
      std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) return cannot_read(errno);
  std::string data;
  char buffer[16384];
  while (true) {
    size_t n = std::fread(buffer, 1, sizeof(buffer), file.get());
    data.append(buffer, n);
    if (data.size() > kMaxPemBytes) {
      return FileError(setting, path,
                       "is larger than 4 MiB: expected a PEM file");
    }
    if (n < sizeof(buffer)) {
      // EISDIR and friends show up here, not at fopen.
      if (std::ferror(file.get()) != 0) return cannot_read(errno);
      break;
    }
  }
  if (data.empty()) return FileError(setting, path, "is empty");
  return data;
}

BioPtr MemoryBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// True when the last OpenSSL error only says "no more PEM blocks", which is
// how a read loop over a well-formed bundle ends.
bool OnlyEndOfPem() {
  const auto err = ERR_peek_last_error();  // OpenSSL's unsigned long
  return err == 0 || (ERR_GET_LIB(err) == ERR_LIB_PEM &&
                      ERR_GET_REASON(err) == PEM_R_NO_START_LINE);
}

// Parses every certificate in a PEM bundle: at least one, none malformed.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(const char* setting,
                                                       const std::string& path,
                                                       const std::string& pem) {
  ClearOpensslErrors clear;
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf");
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  if (!OnlyEndOfPem()) {
    return FileError(setting, path,
                     absl::StrCat("has a malformed PEM certificate (block ",
                                  certs.size() + 1, ")"));
  }
  if (certs.empty()) {
    return FileError(setting, path,
                     "holds no PEM certificate (expected a "
                     "'-----BEGIN CERTIFICATE-----' block)");
  }
  return certs;
}

// Refuses to prompt for a passphrase on the terminal: start-up must never
// block on stdin.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/,
                 void* /*userdata*/) {
  return -1;
}

absl::StatusOr<PkeyPtr> ParsePrivateKey(const std::string& path,
                                        const std::string& pem) {
  ClearOpensslErrors clear;
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf");
  PkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr));
  if (key != nullptr) return key;
  if (absl::StrContains(pem, "ENCRYPTED")) {
    return FileError(kKeySetting, path,
                     "is an encrypted private key, which is not supported: "
                     "decrypt it with 'openssl pkey -in KEY -out KEY.plain' "
                     "and protect the file instead");
  }
  return FileError(kKeySetting, path,
                   "holds no PEM private key (expected a "
                   "'-----BEGIN PRIVATE KEY-----' block)");
}

// An expired or not-yet-valid certificate still loads (clients may pin it
// or skip checks), but every verifying peer will reject it: say so at
// start-up rather than leave operators to decode handshake failures.
void WarnIfOutsideValidity(const char* setting, const std::string& path,
                           X509* cert) {
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    log::Warn("tls_certificate_expired",
              {{"setting", setting}, {"path", path}});
  } else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    log::Warn("tls_certificate_not_yet_valid",
              {{"setting", setting}, {"path", path}});
  }
}

// A certificate chain and its private key, read and checked.
struct KeyCertPair {
  std::string cert_pem;
  std::string key_pem;
};

absl::StatusOr<KeyCertPair> LoadKeyCertPair(const config::TlsConfig& tls) {
  absl::StatusOr<std::string> cert_pem =
      ReadPemFile(kCertSetting, tls.cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::vector<X509Ptr>> chain =
      ParseCertificates(kCertSetting, tls.cert_file, *cert_pem);
  if (!chain.ok()) return chain.status();

  absl::StatusOr<std::string> key_pem = ReadPemFile(kKeySetting, tls.key_file);
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<PkeyPtr> key = ParsePrivateKey(tls.key_file, *key_pem);
  if (!key.ok()) return key.status();

  // The first certificate of the chain is the leaf, the one the key signs
  // for; a mismatch would otherwise only show as a failed handshake.
  X509* leaf = chain->front().get();
  {
    ClearOpensslErrors clear;
    if (X509_check_private_key(leaf, key->get()) != 1) {
      return FileError(
          kKeySetting, tls.key_file,
          absl::StrCat("does not match the certificate in ", kCertSetting, " ",
                       tls.cert_file,
                       " (is it the key of another certificate?)"));
    }
  }
  WarnIfOutsideValidity(kCertSetting, tls.cert_file, leaf);
  return KeyCertPair{*std::move(cert_pem), *std::move(key_pem)};
}

// Reads a CA bundle and checks it holds certificates.
absl::StatusOr<std::string> LoadCaBundle(const char* setting,
                                         const std::string& path) {
  absl::StatusOr<std::string> pem = ReadPemFile(setting, path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::vector<X509Ptr>> certs =
      ParseCertificates(setting, path, *pem);
  if (!certs.ok()) return certs.status();
  return pem;
}

absl::Status CheckCertKeyTogether(const config::TlsConfig& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        kCertSetting, " and ", kKeySetting, " must be set together"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const config::TlsConfig& tls) {
  if (absl::Status s = CheckCertKeyTogether(tls); !s.ok()) return s;
  if (!tls.ServerTlsEnabled()) {
    // Serving plaintext while a client CA is configured would silently drop
    // the authentication the operator asked for.
    if (!tls.client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kClientCaSetting, " needs ", kCertSetting, " and ",
                       kKeySetting, ": mutual TLS is TLS first"));
    }
    return grpc::InsecureServerCredentials();
  }

  absl::StatusOr<KeyCertPair> pair = LoadKeyCertPair(tls);
  if (!pair.ok()) return pair.status();

  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back(
      {std::move(pair->key_pem), std::move(pair->cert_pem)});
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> client_ca =
        LoadCaBundle(kClientCaSetting, tls.client_ca_file);
    if (!client_ca.ok()) return client_ca.status();
    options.pem_root_certs = *std::move(client_ca);
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const config::TlsConfig& tls) {
  if (absl::Status s = CheckCertKeyTogether(tls); !s.ok()) return s;
  if (!tls.ClientTlsEnabled()) return grpc::InsecureChannelCredentials();

  grpc::SslCredentialsOptions options;
  if (!tls.ca_file.empty()) {
    absl::StatusOr<std::string> ca = LoadCaBundle(kCaSetting, tls.ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
  }
  // Empty pem_root_certs: gRPC uses GRPC_DEFAULT_SSL_ROOTS_FILE_PATH or the
  // system roots.
  if (!tls.cert_file.empty()) {
    absl::StatusOr<KeyCertPair> pair = LoadKeyCertPair(tls);
    if (!pair.ok()) return pair.status();
    options.pem_cert_chain = std::move(pair->cert_pem);
    options.pem_private_key = std::move(pair->key_pem);
  }
  return grpc::SslCredentials(options);
}

void ApplyChannelArgs(const config::TlsConfig& tls,
                      grpc::ChannelArguments* args) {
  if (!tls.server_name.empty()) args->SetSslTargetNameOverride(tls.server_name);
}

}  // namespace rapport::tls
