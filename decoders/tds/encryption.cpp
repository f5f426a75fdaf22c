#include "decoders/tds/encryption.h"

namespace midiag::tds {

std::string_view to_string(Negotiated n) {
  switch (n) {
    case Negotiated::None:
      return "none";
    case Negotiated::LoginOnly:
      return "login_only";
    case Negotiated::Full:
      return "full";
    case Negotiated::Terminate:
      return "terminate";
  }
  return "terminate";
}

Negotiated negotiate(Encryption client, Encryption server) {
  // The table of MS-TDS 2.2.6.5, rows by what the client sent. REQ from a client is read as ON.
  switch (client) {
    case Encryption::Off:
      switch (server) {
        case Encryption::Off:
          return Negotiated::LoginOnly;
        case Encryption::On:
        case Encryption::Req:
          return Negotiated::Full;
        case Encryption::NotSup:
          return Negotiated::None;
      }
      break;
    case Encryption::On:
    case Encryption::Req:
      return server == Encryption::NotSup ? Negotiated::Terminate : Negotiated::Full;
    case Encryption::NotSup:
      return server == Encryption::Off || server == Encryption::NotSup ? Negotiated::None
                                                                       : Negotiated::Terminate;
  }
  return Negotiated::Terminate;
}

}  // namespace midiag::tds
