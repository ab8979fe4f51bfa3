// Names of token kinds, for "expected X" messages and --emit=tokens.
#include "frontend/token.h"

#include <fmt/format.h>

namespace numjit {

const char* token_text(Tok t) {
  static const char* const kText[] = {
#define NUMJIT_TOKEN_TEXT(name, text) text,
      NUMJIT_FOR_EACH_TOKEN(NUMJIT_TOKEN_TEXT)
#undef NUMJIT_TOKEN_TEXT
  };
  return kText[static_cast<int>(t)];
}

const char* token_name(Tok t) {
  static const char* const kName[] = {
#define NUMJIT_TOKEN_NAME(name, text) #name,
      NUMJIT_FOR_EACH_TOKEN(NUMJIT_TOKEN_NAME)
#undef NUMJIT_TOKEN_NAME
  };
  return kName[static_cast<int>(t)];
}

std::string quoted(std::string_view s) {
  std::string out = "'";
  for (unsigned char c : s) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      default:
        if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
        else out += char(c);
    }
  }
  return out + "'";
}

}  // namespace numjit
