// The Azure VPN Client profile (azurevpnconfig.xml): <clientconfig><includeroutes><route>
// <destination>10.0.0.0</destination><mask>24</mask></route></includeroutes> and <excluderoutes>.
// Read with libxml2, never fetching anything (XML_PARSE_NONET) and never expanding entities, so a
// hostile file can neither reach the network nor blow up in memory.
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "platform/routes/route_table.h"
#include "platform/routes/text_lines.h"

namespace midiag::platform::routes {

namespace {

std::string_view local_name(const xmlNode* n) {
  return n->name == nullptr ? std::string_view() : reinterpret_cast<const char*>(n->name);
}

bool named(const xmlNode* n, std::string_view name) {
  return n->type == XML_ELEMENT_NODE && text::equals_nocase(local_name(n), name);
}

// The element's own text, from text and CDATA children only: an entity reference is not followed.
std::string own_text(const xmlNode* n, bool& entity) {
  std::string out;
  for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != nullptr)
      out += reinterpret_cast<const char*>(c->content);
    else if (c->type == XML_ENTITY_REF_NODE)
      entity = true;
  }
  return std::string(text::trim(out));
}

const xmlNode* child(const xmlNode* n, std::string_view name) {
  for (const xmlNode* c = n->children; c != nullptr; c = c->next)
    if (named(c, name)) return c;
  return nullptr;
}

struct Walk {
  RouteTable& table;
  text::UnreadList unread;
  std::size_t lists = 0;  // <includeroutes>/<excluderoutes> seen

  void route(const xmlNode* r, bool exclude) {
    const std::size_t line = static_cast<std::size_t>(std::max(0L, xmlGetLineNo(r)));
    const xmlNode* d = child(r, "destination");
    const xmlNode* m = child(r, "mask");
    bool entity = false;
    const std::string dest = d != nullptr ? own_text(d, entity) : "";
    const std::string mask = m != nullptr ? own_text(m, entity) : "";
    const std::string shown = "<route> " + dest + (mask.empty() ? "" : " mask " + mask);
    if (entity) {
      unread.add(line, shown, "entity references are not expanded");
      return;
    }
    if (dest.empty()) {
      unread.add(line, shown, "<route> without a <destination>");
      return;
    }
    std::optional<Prefix> prefix;
    if (mask.empty()) {
      if (dest.find('/') == std::string::npos) {
        unread.add(line, shown, "<route> without a <mask>");
        return;
      }
      prefix = Prefix::parse(dest);
    } else if (mask.find('.') != std::string::npos) {  // a dotted netmask
      auto a = Address::parse(dest);
      auto b = Address::parse(mask);
      if (a && b) prefix = Prefix::from_mask(*a, *b);
    } else if (text::all_digits(mask) && mask.size() <= 3 && dest.find('/') == std::string::npos) {
      prefix = Prefix::parse(dest + "/" + mask);
    }
    if (!prefix) {
      unread.add(line, shown, "destination and mask do not make a prefix");
      return;
    }
    RouteEntry e;
    e.destination = *prefix;
    e.interface = "vpn";
    e.origin = "line " + std::to_string(line);
    if (exclude) {
      // Kept off the VPN: an exclusion the lookup weighs, never a route it chooses.
      e.kind = "exclude";
      e.active = false;
    }
    table.routes.push_back(std::move(e));
  }

  void list(const xmlNode* l, bool exclude) {
    ++lists;
    for (const xmlNode* c = l->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (named(c, "route")) {
        route(c, exclude);
      } else {
        unread.add(static_cast<std::size_t>(std::max(0L, xmlGetLineNo(c))),
                   "<" + std::string(local_name(c)) + ">",
                   "not a <route> inside <" + std::string(local_name(l)) + ">");
      }
    }
  }

  // Iterative (an explicit stack), so deep nesting cannot exhaust ours; libxml2 itself refuses
  // documents nested deeper than 256 levels without XML_PARSE_HUGE.
  void all(const xmlNode* root) {
    std::vector<const xmlNode*> stack{root};
    while (!stack.empty()) {
      const xmlNode* n = stack.back();
      stack.pop_back();
      for (; n != nullptr; n = n->next) {
        if (named(n, "includeroutes")) {
          list(n, false);
        } else if (named(n, "excluderoutes")) {
          list(n, true);
        } else if (n->type == XML_ELEMENT_NODE && n->children != nullptr) {
          stack.push_back(n->children);
        }
      }
    }
  }
};

}  // namespace

Expected<RouteTable> parse_azure_vpn_xml(std::string_view input) {
  const std::string_view expected =
      "expected an Azure VPN Client profile (azurevpnconfig.xml) with <includeroutes> or "
      "<excluderoutes> of <route><destination>..</destination><mask>..</mask></route>";
  if (input.size() > static_cast<std::size_t>(INT_MAX))
    return make_error("file too large for an XML profile; " + std::string(expected),
                      ErrorKind::Usage);
  // A profile never declares entities; one that does is refused rather than trusted.
  if (input.find("<!ENTITY") != std::string_view::npos)
    return make_error(
        "the file declares XML entities, which an Azure VPN Client profile never "
        "does: refused unread; " +
            std::string(expected),
        ErrorKind::Usage);
  std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> ctxt(xmlNewParserCtxt(),
                                                                    &xmlFreeParserCtxt);
  if (!ctxt) return make_error("out of memory creating the XML parser", ErrorKind::Resource);
  // NONET: no fetch; no NOENT/DTDLOAD/DTDATTR: entities stay references and no DTD is read;
  // IGNORE_ENC: the text is UTF-8 already (normalize_text turned a UTF-16 file into UTF-8).
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                      XML_PARSE_NOBLANKS | XML_PARSE_IGNORE_ENC;
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
      xmlCtxtReadMemory(ctxt.get(), input.data(), static_cast<int>(input.size()),
                        "azurevpnconfig.xml", "UTF-8", options),
      &xmlFreeDoc);
  if (!doc) {
    const xmlError* err = xmlCtxtGetLastError(ctxt.get());
    std::string why = err != nullptr && err->message != nullptr ? err->message : "not XML";
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    const int line = err != nullptr ? err->line : 0;
    return make_error("not well-formed XML (line " + std::to_string(line) + ": " + why + "); " +
                          std::string(expected),
                      ErrorKind::Usage);
  }
  RouteTable table;
  table.format = SourceFormat::AzureVpnXml;
  Walk walk{table, text::UnreadList(table.unread)};
  walk.all(xmlDocGetRootElement(doc.get()));
  walk.unread.finish();
  if (walk.lists == 0)
    return make_error(
        "no <includeroutes> or <excluderoutes> in the XML (without them the VPN "
        "takes the routes the gateway advertises); " +
            std::string(expected),
        ErrorKind::Usage);
  if (table.routes.empty() && table.unread.empty())
    table.note = "Azure VPN Client profile: empty route lists";
  else
    table.note = "Azure VPN Client profile: custom include/exclude routes";
  return table;
}

}  // namespace midiag::platform::routes
