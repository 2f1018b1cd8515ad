#pragma once

// gRPC credentials from the TLS settings (config::TlsConfig), for servers and
// for the channels clients and peer services open.
//
// Every PEM file is read and checked once, when the credentials are made, so
// a wrong path, an unreadable or non-PEM file, or a key that does not belong
// to its certificate fails start-up with one line naming the setting and the
// path, e.g.
//   RAPPORT_TLS_CERT_FILE: cannot read /x/cert.pem: No such file or directory
// instead of surfacing later as handshake failures. Certificates are not
// re-read: rotating them means restarting the process (Kubernetes rolls pods
// when a mounted Secret changes only if told to; see deploy/).

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/config/config.h"

namespace rapport::tls {

// Server side:
//   - neither cert nor key set: plaintext (insecure) credentials;
//   - cert_file + key_file: TLS;
//   - plus client_ca_file: mutual TLS, every client must present a certificate
//     signed by a CA in that bundle (the handshake fails otherwise, so the
//     call never reaches a handler).
// Errors (InvalidArgument) name the setting and the path: unreadable, empty
// or non-PEM files, encrypted private keys, a key that does not match the
// certificate, only one of cert/key set, client_ca_file without cert/key.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const config::TlsConfig& tls);

// Client side (clients, and peer services calling each other):
//   - neither ca_file nor cert_file set: plaintext (insecure) credentials;
//   - otherwise TLS, verifying the server against ca_file (the system roots
//     when empty) and presenting cert_file/key_file as the client certificate
//     when they are set (for servers that require mutual TLS).
// client_ca_file is a server setting and is ignored here.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const config::TlsConfig& tls);

// Channel arguments that go with MakeChannelCredentials: when server_name is
// set, the server certificate is checked against it instead of the host in
// the target address (e.g. dialling 10.0.0.7:50051 while the certificate
// names profile-service.rapport.svc). No-op when server_name is empty.
void ApplyChannelArgs(const config::TlsConfig& tls,
                      grpc::ChannelArguments* args);

}  // namespace rapport::tls
