// A bounds-checked look into an ELF file: is it a shared library for this machine, is it
// complete, and does its dynamic symbol table define a given symbol? Runs no code from the
// file. (boost::dll::library_info trusts the file's offsets and reads .symtab, which is absent
// from stripped libraries, so the registry validates with this first.)
#include "plexus/core/registry/elf_check.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <vector>

namespace plexus::core {
namespace {

#if defined(__x86_64__)
constexpr std::uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr std::uint16_t kHostMachine = EM_AARCH64;
#else
constexpr std::uint16_t kHostMachine = EM_NONE;
#endif

}  // namespace

std::string check_elf_symbol(const std::filesystem::path& path, const std::string& symbol) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "cannot be read (check its permissions)";
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t size = bytes.size();

    Elf64_Ehdr eh;
    if (size < sizeof eh || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
        return "not an ELF shared library (remove it from the plugin folder)";
    std::memcpy(&eh, bytes.data(), sizeof eh);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        (kHostMachine != EM_NONE && eh.e_machine != kHostMachine))
        return "built for another machine architecture (rebuild it for this one)";
    if (eh.e_type != ET_DYN) return "an ELF file but not a shared library";
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0)
        return "has no usable section table (corrupt; rebuild or reinstall it)";
    const std::uint64_t table_end = eh.e_shoff + std::uint64_t(eh.e_shnum) * sizeof(Elf64_Shdr);
    if (eh.e_shoff > size || table_end > size)
        return "is truncated (" + std::to_string(size) + " bytes, its section table ends at " +
               std::to_string(table_end) + "; rebuild or reinstall it)";

    std::vector<Elf64_Shdr> sections(eh.e_shnum);
    std::memcpy(sections.data(), bytes.data() + eh.e_shoff, eh.e_shnum * sizeof(Elf64_Shdr));
    for (const auto& s : sections) {
        if (s.sh_type == SHT_NOBITS) continue;
        if (s.sh_offset > size || s.sh_size > size - s.sh_offset)
            return "is truncated or corrupt (a section ends past the file's " +
                   std::to_string(size) + " bytes; rebuild or reinstall it)";
    }
    for (const auto& s : sections) {
        if (s.sh_type != SHT_DYNSYM) continue;
        if (s.sh_link >= sections.size() || s.sh_entsize != sizeof(Elf64_Sym)) break;
        const Elf64_Shdr& strtab = sections[s.sh_link];
        if (strtab.sh_type != SHT_STRTAB || strtab.sh_offset > size ||
            strtab.sh_size > size - strtab.sh_offset || s.sh_type == SHT_NOBITS)
            return "is corrupt (its dynamic symbol table is malformed; rebuild or reinstall it)";
        const char* names = bytes.data() + strtab.sh_offset;
        const std::size_t count = s.sh_size / sizeof(Elf64_Sym);
        for (std::size_t i = 0; i < count; ++i) {
            Elf64_Sym sym;
            std::memcpy(&sym, bytes.data() + s.sh_offset + i * sizeof(Elf64_Sym), sizeof sym);
            if (sym.st_name >= strtab.sh_size || sym.st_shndx == SHN_UNDEF) continue;
            const std::size_t max_len = strtab.sh_size - sym.st_name;
            if (strnlen(names + sym.st_name, max_len) == symbol.size() &&
                std::memcmp(names + sym.st_name, symbol.data(), symbol.size()) == 0)
                return {};
        }
    }
    return "is a shared library but not a Plexus plugin (no '" + symbol +
           "' entry point; build it with plexus_add_plugin and PLEXUS_PLUGIN)";
}

}  // namespace plexus::core
