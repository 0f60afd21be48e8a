// A bounds-checked look into a plugin file that runs nothing from it.
//
// Why read the manifest from the file instead of loading the library and asking it: dlopen
// runs the library's static constructors (and those of everything it links) before the host
// sees a single field, so a plugin refused for its ABI or build tag would already have run.
// The manifest is plain data (plexus/plugin.hpp), so its head can be read like any other
// data file: find PLEXUS_MANIFEST_DATA_SYMBOL in .dynsym, map its address to a file offset
// through the loadable segments, and follow the build-tag pointer through its relative
// relocation. A helper process that loads each candidate (GStreamer's plugin scanner) would
// also keep refused code out of this process, but it still runs that code, costs a process
// per new file and needs a verdict cache; reading the file needs neither.
//
// Every read is a pread of a checked range: headers, .dynsym and its names, the relocation
// tables (each capped at 64 MiB) and the manifest's few bytes. A 3 GB sparse file costs the
// same few reads as a plugin. (boost::dll::library_info reads whole sections it trusts the
// offsets of, and reads .symtab, which stripped libraries lack.)
#include "plexus/core/registry/elf_check.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "plexus/plugin.hpp"

namespace plexus::core {
namespace {

#if defined(__x86_64__)
constexpr std::uint16_t kHostMachine = EM_X86_64;
constexpr std::uint32_t kRelativeReloc = R_X86_64_RELATIVE;
#elif defined(__aarch64__)
constexpr std::uint16_t kHostMachine = EM_AARCH64;
constexpr std::uint32_t kRelativeReloc = R_AARCH64_RELATIVE;
#else
constexpr std::uint16_t kHostMachine = EM_NONE;
constexpr std::uint32_t kRelativeReloc = 0;
#endif

// A plugin's dynamic tables are kilobytes; the cap only bounds what a hostile file costs.
constexpr std::uint64_t kMaxTableBytes = 64ull << 20;
constexpr std::size_t kMaxBuildTag = 256;
constexpr std::size_t kRelocsPerRead = 4096;
// The manifest's head: abi_version, struct_size, build_tag (plexus/plugin.hpp).
constexpr std::uint64_t kHeadBytes = 16;
constexpr std::uint64_t kBuildTagOffset = 8;

const char* const kRebuild = "; rebuild or reinstall it)";

class ElfFile {
public:
    explicit ElfFile(const std::filesystem::path& path)
        : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) {
        struct stat st {};
        regular_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
        if (regular_) size_ = static_cast<std::uint64_t>(st.st_size);
    }
    ~ElfFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    ElfFile(const ElfFile&) = delete;
    ElfFile& operator=(const ElfFile&) = delete;

    bool opened() const { return fd_ >= 0; }
    bool regular() const { return regular_; }
    std::uint64_t size() const { return size_; }
    bool holds(std::uint64_t offset, std::uint64_t n) const {
        return offset <= size_ && n <= size_ - offset;
    }
    /// True when all of [offset, offset + n) lies in the file and was read into `out`.
    bool read(std::uint64_t offset, void* out, std::size_t n) const {
        if (!holds(offset, n)) return false;
        auto* p = static_cast<char*>(out);
        while (n > 0) {
            const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) return false;
            p += got;
            offset += static_cast<std::uint64_t>(got);
            n -= static_cast<std::size_t>(got);
        }
        return true;
    }

private:
    int fd_;
    bool regular_ = false;
    std::uint64_t size_ = 0;
};

struct Image {
    Elf64_Ehdr header{};
    std::vector<Elf64_Phdr> segments;
    std::vector<Elf64_Shdr> sections;
};

template <class T>
std::string read_table(const ElfFile& f, std::uint64_t offset, std::uint64_t count,
                       std::vector<T>& out, const char* what) {
    if (!f.holds(offset, count * sizeof(T)))
        return "is truncated (" + std::to_string(f.size()) + " bytes, its " + what +
               " lies past the end" + kRebuild;
    out.resize(count);
    if (!f.read(offset, out.data(), count * sizeof(T)))
        return "cannot be read (an I/O error; check the disk)";
    return {};
}

std::string read_headers(const ElfFile& f, Image& img) {
    Elf64_Ehdr& eh = img.header;
    if (!f.read(0, &eh, sizeof eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return "not an ELF shared library (remove it from the plugin folder)";
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        (kHostMachine != EM_NONE && eh.e_machine != kHostMachine))
        return "built for another machine architecture (rebuild it for this one)";
    if (eh.e_type != ET_DYN) return "an ELF file but not a shared library";
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0)
        return std::string("has no usable section table (corrupt") + kRebuild;
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
        return std::string("has no usable program headers (corrupt") + kRebuild;
    if (auto why = read_table(f, eh.e_shoff, eh.e_shnum, img.sections, "section table");
        !why.empty())
        return why;
    if (auto why = read_table(f, eh.e_phoff, eh.e_phnum, img.segments, "program header table");
        !why.empty())
        return why;
    for (const auto& s : img.sections)
        if (s.sh_type != SHT_NOBITS && !f.holds(s.sh_offset, s.sh_size))
            return "is truncated or corrupt (a section ends past the file's " +
                   std::to_string(f.size()) + " bytes" + kRebuild;
    for (const auto& p : img.segments)
        if (p.p_type == PT_LOAD && !f.holds(p.p_offset, p.p_filesz))
            return "is truncated or corrupt (a loadable segment ends past the file's " +
                   std::to_string(f.size()) + " bytes" + kRebuild;
    return {};
}

std::string capped(const Elf64_Shdr& s, const char* what) {
    if (s.sh_size <= kMaxTableBytes) return {};
    return std::string("is corrupt (its ") + what + " claims " + std::to_string(s.sh_size) +
           " bytes, more than the 64 MiB any plugin needs" + kRebuild;
}

struct ManifestSymbols {
    std::optional<Elf64_Sym> data;  // PLEXUS_MANIFEST_DATA_SYMBOL
    bool legacy = false;            // kManifestSymbol, which every plugin also exports
};

bool names(const std::vector<char>& strings, std::uint32_t at, std::string_view name) {
    if (at >= strings.size()) return false;
    const std::size_t room = strings.size() - at;
    return strnlen(strings.data() + at, room) == name.size() &&
           std::memcmp(strings.data() + at, name.data(), name.size()) == 0;
}

std::string find_manifest_symbols(const ElfFile& f, const Image& img, ManifestSymbols& out) {
    const std::string_view data_name = PLEXUS_MANIFEST_DATA_SYMBOL;
    for (const auto& s : img.sections) {
        if (s.sh_type != SHT_DYNSYM) continue;
        if (s.sh_link >= img.sections.size() || s.sh_entsize != sizeof(Elf64_Sym) ||
            img.sections[s.sh_link].sh_type != SHT_STRTAB)
            return std::string("is corrupt (its dynamic symbol table is malformed") + kRebuild;
        const Elf64_Shdr& strtab = img.sections[s.sh_link];
        if (auto why = capped(s, "dynamic symbol table"); !why.empty()) return why;
        if (auto why = capped(strtab, "dynamic symbol names"); !why.empty()) return why;
        std::vector<Elf64_Sym> symbols;
        std::vector<char> strings;
        if (auto why = read_table(f, s.sh_offset, s.sh_size / sizeof(Elf64_Sym), symbols,
                                  "dynamic symbol table");
            !why.empty())
            return why;
        if (auto why =
                read_table(f, strtab.sh_offset, strtab.sh_size, strings, "dynamic symbol names");
            !why.empty())
            return why;
        for (const auto& sym : symbols) {
            if (sym.st_shndx == SHN_UNDEF) continue;
            if (names(strings, sym.st_name, data_name)) out.data = sym;
            out.legacy |= names(strings, sym.st_name, kManifestSymbol);
        }
    }
    return {};
}

/// The file offset of the `n` bytes at virtual address `address`, when one loadable segment
/// holds all of them in the file; `room` is how many bytes that segment has from there on.
std::optional<std::uint64_t> file_offset(const Image& img, std::uint64_t address, std::uint64_t n,
                                         std::uint64_t* room = nullptr) {
    for (const auto& p : img.segments) {
        if (p.p_type != PT_LOAD || address < p.p_vaddr) continue;
        const std::uint64_t into = address - p.p_vaddr;
        if (into > p.p_filesz || n > p.p_filesz - into) continue;
        if (room) *room = p.p_filesz - into;
        return p.p_offset + into;
    }
    return std::nullopt;
}

/// The pointer the loader would store at virtual address `where`: the addend of its
/// relative relocation (.rela.dyn), or the file's own bytes there (RELR-packed relocations
/// keep their addend in place). Nothing when the pointer needs a symbol to resolve.
std::optional<std::uint64_t> pointer_at(const ElfFile& f, const Image& img, std::uint64_t where) {
    std::vector<Elf64_Rela> chunk;
    for (const auto& s : img.sections) {
        if (s.sh_type != SHT_RELA || s.sh_entsize != sizeof(Elf64_Rela) ||
            s.sh_size > kMaxTableBytes)
            continue;
        const std::uint64_t count = s.sh_size / sizeof(Elf64_Rela);
        for (std::uint64_t first = 0; first < count; first += kRelocsPerRead) {
            const std::uint64_t n = std::min<std::uint64_t>(kRelocsPerRead, count - first);
            if (!read_table(f, s.sh_offset + first * sizeof(Elf64_Rela), n, chunk, "").empty())
                return std::nullopt;
            for (const auto& r : chunk) {
                if (r.r_offset != where) continue;
                if (ELF64_R_TYPE(r.r_info) != kRelativeReloc) return std::nullopt;
                return static_cast<std::uint64_t>(r.r_addend);
            }
        }
    }
    std::uint64_t value = 0;
    const auto at = file_offset(img, where, sizeof value);
    if (!at || !f.read(*at, &value, sizeof value)) return std::nullopt;
    return value;
}

std::optional<std::string> read_build_tag(const ElfFile& f, const Image& img,
                                          std::uint64_t manifest_address) {
    const auto address = pointer_at(f, img, manifest_address + kBuildTagOffset);
    std::uint64_t room = 0;
    const auto at = address ? file_offset(img, *address, 1, &room) : std::nullopt;
    if (!at) return std::nullopt;
    std::vector<char> text(std::min<std::uint64_t>(room, kMaxBuildTag));
    if (!f.read(*at, text.data(), text.size())) return std::nullopt;
    const std::size_t length = strnlen(text.data(), text.size());
    if (length == text.size()) return std::nullopt;  // no terminator within reach
    return std::string(text.data(), length);
}

}  // namespace

std::string read_manifest_head(const std::filesystem::path& path, ManifestHead& head) {
    const ElfFile f(path);
    if (!f.opened()) return "cannot be read (check its permissions)";
    if (!f.regular()) return "not a regular file; only regular files are loaded as plugins";
    Image img;
    if (auto why = read_headers(f, img); !why.empty()) return why;
    ManifestSymbols symbols;
    if (auto why = find_manifest_symbols(f, img, symbols); !why.empty()) return why;
    if (!symbols.data && symbols.legacy)
        return std::string("was built with an older Plexus SDK (it has ") + kManifestSymbol +
               " but no " PLEXUS_MANIFEST_DATA_SYMBOL
               ", which this host reads without running the plugin); rebuild it against this "
               "SDK";
    if (!symbols.data)
        return std::string("is a shared library but not a Plexus plugin (no '") + kManifestSymbol +
               "' entry point; build it with plexus_add_plugin and PLEXUS_PLUGIN)";
    const Elf64_Sym& sym = *symbols.data;
    std::uint32_t fields[2] = {};
    const auto at = file_offset(img, sym.st_value, kHeadBytes);
    if (ELF64_ST_TYPE(sym.st_info) != STT_OBJECT || sym.st_size < kHeadBytes || !at ||
        !f.read(*at, fields, sizeof fields))
        return std::string("is corrupt (its " PLEXUS_MANIFEST_DATA_SYMBOL
                           " is not a manifest in the file") +
               kRebuild;
    head.abi_version = fields[0];
    head.struct_size = fields[1];
    head.build_tag = read_build_tag(f, img, sym.st_value);
    return {};
}

}  // namespace plexus::core
