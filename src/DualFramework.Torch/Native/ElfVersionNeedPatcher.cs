using System.Buffers.Binary;
using System.Text;

namespace DualFramework.Torch.Native;
/// <summary>One <c>Elf64_Vernaux</c> entry: a symbol version required from a needed library.</summary>
/// <param name="EntryOffset">File offset of the 16-byte entry.</param>
/// <param name="Hash"><c>vna_hash</c>: SysV ELF hash of <paramref name="Name"/>.</param>
/// <param name="Flags"><c>vna_flags</c> (e.g. <c>VER_FLG_WEAK</c>).</param>
/// <param name="Other"><c>vna_other</c>: the version index that <c>.gnu.version</c> entries refer to.</param>
/// <param name="NameOffset"><c>vna_name</c>: offset of the name in the dynamic string table.</param>
/// <param name="Name">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
internal sealed record ElfVersionAux(long EntryOffset, uint Hash, ushort Flags, ushort Other, uint NameOffset, string Name);

/// <summary>One <c>Elf64_Verneed</c> entry: the versions required from one needed library.</summary>
/// <param name="FileName">The library the versions are required from, e.g. <c>libstdc++.so.6</c>.</param>
/// <param name="Versions">The <c>Vernaux</c> entries in file order.</param>
internal sealed record ElfVersionNeed(string FileName, IReadOnlyList<ElfVersionAux> Versions);

/// <summary>What the dynamic linker reads from a shared object's dynamic segment.</summary>
/// <param name="SoName">The <c>DT_SONAME</c>, or null when absent.</param>
/// <param name="Needed">The <c>DT_NEEDED</c> library names in order.</param>
/// <param name="VersionNeeds">The parsed <c>DT_VERNEED</c> chain (<c>.gnu.version_r</c>).</param>
internal sealed record ElfDynamicInfo(string? SoName, IReadOnlyList<string> Needed, IReadOnlyList<ElfVersionNeed> VersionNeeds)
{
    /// <summary>True when some <c>Vernaux</c> entry, from any library, has the given version name.</summary>
    /// <param name="versionName">A version name such as <c>GLIBCXX_3.4.32</c>.</param>
    public bool RequiresVersion(string versionName) =>
        VersionNeeds.Any(n => n.Versions.Any(v => v.Name == versionName));
}

/// <summary>Outcome kind of <see cref="ElfVersionNeedPatcher.Patch"/>.</summary>
internal enum ElfPatchStatus
{
    /// <summary>At least one entry was rewritten; <see cref="ElfPatchResult.Image"/> holds the patched copy.</summary>
    Patched,

    /// <summary>The image does not require the version: nothing to do.</summary>
    NotNeeded,

    /// <summary>The version is required but no older version from the same library is available to stand in.</summary>
    NoReplacement,

    /// <summary>The input is not a well-formed ELF64 little-endian image.</summary>
    Malformed,
}

/// <summary>One rewritten <c>Vernaux</c> entry.</summary>
/// <param name="EntryOffset">File offset of the rewritten 16-byte entry.</param>
/// <param name="FileName">The library the version is required from.</param>
/// <param name="OldName">The dropped version name.</param>
/// <param name="NewName">The version name now required instead (already required by the same file).</param>
/// <param name="OldHash">The previous <c>vna_hash</c>.</param>
/// <param name="NewHash">The new <c>vna_hash</c> (<see cref="ElfVersionNeedPatcher.ElfHash(string)"/> of <paramref name="NewName"/>).</param>
/// <param name="NewNameOffset">The new <c>vna_name</c>: the string-table offset the stand-in entry already uses.</param>
/// <param name="VersionIndex">The unchanged <c>vna_other</c>.</param>
internal sealed record ElfVernauxChange(
    long EntryOffset, string FileName, string OldName, string NewName, uint OldHash, uint NewHash, uint NewNameOffset, ushort VersionIndex);

/// <summary>Result of <see cref="ElfVersionNeedPatcher.Patch"/>; never carries an exception.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Image">The patched copy when <paramref name="Status"/> is <see cref="ElfPatchStatus.Patched"/>, else null.</param>
/// <param name="Message">Human-readable description (the error when malformed).</param>
/// <param name="Changes">The rewritten entries (empty unless patched).</param>
internal sealed record ElfPatchResult(ElfPatchStatus Status, byte[]? Image, string Message, IReadOnlyList<ElfVernauxChange> Changes);

/// <summary>
/// Pure-managed, bounds-checked reader/patcher for the symbol-version requirements
/// (<c>DT_VERNEED</c>, the <c>.gnu.version_r</c> section) of ELF64 little-endian shared objects.
/// </summary>
/// <remarks>
/// The image is navigated the way <c>ld.so</c> does it — program headers → <c>PT_DYNAMIC</c> →
/// <c>DT_STRTAB</c>/<c>DT_VERNEED</c> virtual addresses mapped to file offsets through the
/// <c>PT_LOAD</c> segments — not through section headers, which the dynamic linker never reads
/// (they may be stripped or disagree). Every read is range-checked against the image, so any
/// malformed input surfaces as <see cref="ElfFormatException"/> (or a
/// <see cref="ElfPatchStatus.Malformed"/> result), never as an out-of-range access.
/// </remarks>
internal static class ElfVersionNeedPatcher
{
    /// <summary>The libstdc++ version (GCC 13+) that TorchSharp 0.107's LibTorchSharp needs only nominally.</summary>
    public const string Glibcxx3432 = "GLIBCXX_3.4.32";

    private const int EhdrSize = 64;
    private const int PhdrSize = 56;
    private const int DynSize = 16;
    private const int VerneedSize = 16;
    private const int VernauxSize = 16;

    private const uint PtLoad = 1;
    private const uint PtDynamic = 2;
    private const long DtNull = 0;
    private const long DtNeeded = 1;
    private const long DtStrtab = 5;
    private const long DtStrsz = 10;
    private const long DtSoname = 14;
    private const long DtVerneed = 0x6ffffffe;
    private const long DtVerneednum = 0x6fffffff;

    /// <summary>The SysV ABI <c>elf_hash</c> of a byte string (as stored in <c>vna_hash</c>).</summary>
    /// <param name="name">The name's bytes, without terminating NUL.</param>
    /// <returns>The 28-bit hash.</returns>
    public static uint ElfHash(ReadOnlySpan<byte> name)
    {
        uint h = 0;
        foreach (byte c in name)
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000u;
            if (g != 0)
            {
                h ^= g >> 24;
            }

            h &= ~g;
        }

        return h;
    }

    /// <summary>The SysV ABI <c>elf_hash</c> of an ASCII/UTF-8 name.</summary>
    /// <param name="name">The name, e.g. <c>GLIBCXX_3.4.18</c>.</param>
    /// <returns>The 28-bit hash.</returns>
    public static uint ElfHash(string name) => ElfHash(Encoding.UTF8.GetBytes(name));

    /// <summary>Reads SONAME, DT_NEEDED and the version-need chain; returns false with a reason when malformed.</summary>
    /// <param name="image">The complete file contents.</param>
    /// <param name="info">The parsed information on success.</param>
    /// <param name="error">Why parsing failed, on failure.</param>
    /// <returns>True when the image parsed.</returns>
    public static bool TryRead(ReadOnlySpan<byte> image, out ElfDynamicInfo? info, out string? error)
    {
        try
        {
            info = Read(image);
            error = null;
            return true;
        }
        catch (ElfFormatException e)
        {
            info = null;
            error = e.Message;
            return false;
        }
    }

    /// <summary>Reads SONAME, DT_NEEDED and the version-need chain.</summary>
    /// <param name="image">The complete file contents.</param>
    /// <returns>The parsed information.</returns>
    /// <exception cref="ElfFormatException">The image is malformed or not ELF64 little-endian.</exception>
    public static ElfDynamicInfo Read(ReadOnlySpan<byte> image)
    {
        var r = new Reader(image);
        if (image.Length < EhdrSize)
        {
            throw new ElfFormatException($"Image is {image.Length} bytes, shorter than an ELF64 header ({EhdrSize}).");
        }

        if (image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
        {
            throw new ElfFormatException("Not an ELF file (bad magic).");
        }

        if (image[4] != 2)
        {
            throw new ElfFormatException(image[4] == 1 ? "32-bit ELF (ELFCLASS32) is not supported." : $"Unknown ELF class {image[4]}.");
        }

        if (image[5] != 1)
        {
            throw new ElfFormatException("Big-endian ELF is not supported.");
        }

        ulong phoff = r.U64(32, "e_phoff");
        ushort phentsize = r.U16(54, "e_phentsize");
        ushort phnum = r.U16(56, "e_phnum");
        if (phnum == 0)
        {
            throw new ElfFormatException("No program headers (e_phnum is 0).");
        }

        if (phentsize < PhdrSize)
        {
            throw new ElfFormatException($"e_phentsize {phentsize} is smaller than an Elf64_Phdr ({PhdrSize}).");
        }

        long phBase = r.Range(phoff, (ulong)phentsize * phnum, "program header table");

        var loads = new List<(ulong Vaddr, ulong Filesz, ulong Offset)>();
        long dynOffset = -1;
        long dynSize = 0;
        for (int i = 0; i < phnum; i++)
        {
            long ph = phBase + ((long)i * phentsize);
            uint type = r.U32(ph, "p_type");
            ulong offset = r.U64(ph + 8, "p_offset");
            ulong vaddr = r.U64(ph + 16, "p_vaddr");
            ulong filesz = r.U64(ph + 32, "p_filesz");
            if (type == PtLoad)
            {
                r.Range(offset, filesz, $"PT_LOAD segment {i}");
                loads.Add((vaddr, filesz, offset));
            }
            else if (type == PtDynamic && dynOffset < 0)
            {
                dynOffset = r.Range(offset, filesz, "PT_DYNAMIC segment");
                dynSize = (long)filesz;
            }
        }

        if (dynOffset < 0)
        {
            throw new ElfFormatException("No PT_DYNAMIC segment: not a dynamically linked object.");
        }

        var neededOffsets = new List<ulong>();
        ulong? sonameOffset = null, strtabAddr = null, strsz = null, verneedAddr = null, verneedNum = null;
        for (long p = dynOffset; p + DynSize <= dynOffset + dynSize; p += DynSize)
        {
            long tag = (long)r.U64(p, "d_tag");
            ulong val = r.U64(p + 8, "d_val");
            if (tag == DtNull)
            {
                break;
            }

            switch (tag)
            {
                case DtNeeded: neededOffsets.Add(val); break;
                case DtSoname: sonameOffset = val; break;
                case DtStrtab: strtabAddr = val; break;
                case DtStrsz: strsz = val; break;
                case DtVerneed: verneedAddr = val; break;
                case DtVerneednum: verneedNum = val; break;
            }
        }

        if (strtabAddr is null || strsz is null)
        {
            throw new ElfFormatException("Dynamic section lacks DT_STRTAB or DT_STRSZ.");
        }

        long strtab = MapAddress(r, loads, strtabAddr.Value, strsz.Value, "DT_STRTAB", out _);
        var strings = new StringTable(r, strtab, (long)strsz.Value);

        string? soname = sonameOffset is { } so ? strings.Get(so, "DT_SONAME") : null;
        var needed = new List<string>(neededOffsets.Count);
        foreach (ulong o in neededOffsets)
        {
            needed.Add(strings.Get(o, "DT_NEEDED"));
        }

        var needs = new List<ElfVersionNeed>();
        if (verneedAddr is { } vaddrNeed)
        {
            if (verneedNum is not { } count)
            {
                throw new ElfFormatException("DT_VERNEED present without DT_VERNEEDNUM.");
            }

            // Every entry is at least 16 bytes, so a count above length/16 cannot be honest;
            // this also bounds the walk below.
            if (count > (ulong)image.Length / VerneedSize)
            {
                throw new ElfFormatException($"DT_VERNEEDNUM {count} is impossible for a {image.Length}-byte image.");
            }

            // The walk follows relative links (vn_aux, vn_next, vna_next) in memory; they stay
            // meaningful as file offsets only inside the segment that holds the table.
            long vn = MapAddress(r, loads, vaddrNeed, VerneedSize, "DT_VERNEED", out long segmentEnd);

            // Entries of a well-formed table do not overlap, so there cannot be more Vernaux
            // entries in total than 16-byte slots in the file; corrupt vn_cnt/vna_next values
            // therefore cannot make the walk long.
            long auxBudget = image.Length / VernauxSize;
            for (ulong i = 0; i < count; i++)
            {
                CheckInSegment(vn, VerneedSize, segmentEnd, $"Elf64_Verneed #{i}");
                ushort version = r.U16(vn, "vn_version");
                if (version != 1)
                {
                    throw new ElfFormatException($"Elf64_Verneed #{i} has unsupported vn_version {version}.");
                }

                ushort cnt = r.U16(vn + 2, "vn_cnt");
                string file = strings.Get(r.U32(vn + 4, "vn_file"), "vn_file");
                uint auxRel = r.U32(vn + 8, "vn_aux");
                uint next = r.U32(vn + 12, "vn_next");

                var versions = new List<ElfVersionAux>(cnt);
                long aux = vn + auxRel;
                for (int j = 0; j < cnt; j++)
                {
                    if (--auxBudget < 0)
                    {
                        throw new ElfFormatException("The version-need table has more Vernaux entries than the image can hold.");
                    }

                    CheckInSegment(aux, VernauxSize, segmentEnd, $"Elf64_Vernaux #{j} of {file}");
                    uint hash = r.U32(aux, "vna_hash");
                    ushort flags = r.U16(aux + 4, "vna_flags");
                    ushort other = r.U16(aux + 6, "vna_other");
                    uint nameOff = r.U32(aux + 8, "vna_name");
                    uint auxNext = r.U32(aux + 12, "vna_next");
                    versions.Add(new ElfVersionAux(aux, hash, flags, other, nameOff, strings.Get(nameOff, "vna_name")));
                    if (auxNext == 0)
                    {
                        break;
                    }

                    aux += auxNext;
                }

                needs.Add(new ElfVersionNeed(file, versions));
                if (next == 0)
                {
                    break;
                }

                vn += next;
            }
        }

        return new ElfDynamicInfo(soname, needed, needs);
    }

    /// <summary>
    /// Returns a copy of <paramref name="image"/> in which every <c>Vernaux</c> entry named
    /// <paramref name="versionName"/> is rewritten to require an older version that the same
    /// <c>Verneed</c> (same library) already requires. Only <c>vna_hash</c> and <c>vna_name</c>
    /// change; all other bytes are identical. Never throws on malformed input.
    /// </summary>
    /// <param name="image">The complete original file contents (not modified).</param>
    /// <param name="versionName">The version requirement to drop, by default <see cref="Glibcxx3432"/>.</param>
    /// <returns>The outcome, with the patched copy when <see cref="ElfPatchStatus.Patched"/>.</returns>
    /// <remarks>
    /// The stand-in is the highest version of the same family (e.g. <c>GLIBCXX_</c>) that is
    /// lower than <paramref name="versionName"/> and already required by the same file, so the
    /// patched object demands nothing that the original did not already demand. Its name string
    /// already exists in the dynamic string table, so no table has to grow.
    /// <para>
    /// <c>vna_other</c> (the version index) is deliberately left unchanged: <c>.gnu.version</c>
    /// entries of undefined symbols point at that index, and the only symbol using it
    /// (<c>_ZSt21ios_base_library_initv</c>) is never bound, because no relocation refers to it.
    /// Keeping the index keeps <c>.gnu.version</c> consistent without touching it; <c>ld.so</c>
    /// merely records, under that index, a requirement on the stand-in version (duplicates are
    /// allowed and each is checked on its own).
    /// </para>
    /// </remarks>
    public static ElfPatchResult Patch(ReadOnlySpan<byte> image, string versionName = Glibcxx3432)
    {
        ArgumentNullException.ThrowIfNull(versionName);
        ElfDynamicInfo info;
        try
        {
            info = Read(image);
        }
        catch (ElfFormatException e)
        {
            return new ElfPatchResult(ElfPatchStatus.Malformed, null, e.Message, []);
        }

        var changes = new List<ElfVernauxChange>();
        foreach (var need in info.VersionNeeds)
        {
            foreach (var aux in need.Versions.Where(v => v.Name == versionName))
            {
                ElfVersionAux? stand = null;
                foreach (var candidate in need.Versions)
                {
                    if (CompareVersions(candidate.Name, versionName) < 0
                        && (stand is null || CompareVersions(candidate.Name, stand.Name) > 0))
                    {
                        stand = candidate;
                    }
                }

                if (stand is null)
                {
                    return new ElfPatchResult(
                        ElfPatchStatus.NoReplacement,
                        null,
                        $"{need.FileName} version {versionName} is required, but no older version of that family is already required from it.",
                        []);
                }

                changes.Add(new ElfVernauxChange(
                    aux.EntryOffset, need.FileName, aux.Name, stand.Name, aux.Hash, ElfHash(stand.Name), stand.NameOffset, aux.Other));
            }
        }

        if (changes.Count == 0)
        {
            return new ElfPatchResult(ElfPatchStatus.NotNeeded, null, $"The image does not require {versionName}.", []);
        }

        byte[] patched = image.ToArray();
        foreach (var change in changes)
        {
            // Offsets were range-checked by Read, so these slices are in bounds.
            var entry = patched.AsSpan((int)change.EntryOffset, VernauxSize);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[..4], change.NewHash);             // vna_hash
            BinaryPrimitives.WriteUInt32LittleEndian(entry.Slice(8, 4), change.NewNameOffset); // vna_name
        }

        string summary = string.Join("; ", changes.Select(c => $"{c.FileName}: {c.OldName} -> {c.NewName} (index {c.VersionIndex}, entry at 0x{c.EntryOffset:x})"));
        return new ElfPatchResult(ElfPatchStatus.Patched, patched, summary, changes);
    }

    /// <summary>
    /// Compares two version names of the form <c>FAMILY_a.b.c</c>; null when they are of
    /// different families or not of that form.
    /// </summary>
    /// <param name="a">First name, e.g. <c>GLIBCXX_3.4.30</c>.</param>
    /// <param name="b">Second name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
    /// <returns>Negative, zero or positive like <see cref="IComparer{T}.Compare"/>, or null when incomparable.</returns>
    internal static int? CompareVersions(string a, string b)
    {
        if (!TrySplit(a, out string fa, out int[] va) || !TrySplit(b, out string fb, out int[] vb) || fa != fb)
        {
            return null;
        }

        for (int i = 0; i < Math.Min(va.Length, vb.Length); i++)
        {
            if (va[i] != vb[i])
            {
                return va[i].CompareTo(vb[i]);
            }
        }

        return va.Length.CompareTo(vb.Length);
    }

    private static bool TrySplit(string name, out string family, out int[] parts)
    {
        family = string.Empty;
        parts = [];
        int us = name.LastIndexOf('_');
        if (us <= 0 || us == name.Length - 1)
        {
            return false;
        }

        var pieces = name[(us + 1)..].Split('.');
        var values = new int[pieces.Length];
        for (int i = 0; i < pieces.Length; i++)
        {
            if (!int.TryParse(pieces[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out values[i]))
            {
                return false;
            }
        }

        family = name[..us];
        parts = values;
        return true;
    }

    /// <summary>
    /// Maps a virtual address range to a file offset through the PT_LOAD segments; also returns
    /// the file offset where that segment's file data ends.
    /// </summary>
    private static long MapAddress(Reader r, List<(ulong Vaddr, ulong Filesz, ulong Offset)> loads, ulong addr, ulong size, string what, out long segmentEnd)
    {
        foreach (var (vaddr, filesz, offset) in loads)
        {
            if (addr >= vaddr && addr - vaddr <= filesz && size <= filesz - (addr - vaddr))
            {
                // PT_LOAD ranges were checked against the image, so this cannot overflow.
                segmentEnd = (long)(offset + filesz);
                return r.Range(offset + (addr - vaddr), size, what);
            }
        }

        throw new ElfFormatException($"{what} address 0x{addr:x} (+{size}) is not inside any PT_LOAD segment's file data.");
    }

    private static void CheckInSegment(long offset, int size, long segmentEnd, string what)
    {
        if (offset > segmentEnd - size)
        {
            throw new ElfFormatException($"{what} (offset 0x{offset:x}) runs past the end of its PT_LOAD segment (0x{segmentEnd:x}).");
        }
    }

    /// <summary>Bounds-checked little-endian reads; every failure is an <see cref="ElfFormatException"/>.</summary>
    private readonly ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public int Length => _data.Length;

        /// <summary>Checks that [offset, offset+size) lies in the image and returns offset.</summary>
        public long Range(ulong offset, ulong size, string what)
        {
            if (offset > (ulong)_data.Length || size > (ulong)_data.Length - offset)
            {
                throw new ElfFormatException($"{what} (offset 0x{offset:x}, size 0x{size:x}) lies outside the {_data.Length}-byte image.");
            }

            return (long)offset;
        }

        public ushort U16(long offset, string what) => BinaryPrimitives.ReadUInt16LittleEndian(Slice(offset, 2, what));

        public uint U32(long offset, string what) => BinaryPrimitives.ReadUInt32LittleEndian(Slice(offset, 4, what));

        public ulong U64(long offset, string what) => BinaryPrimitives.ReadUInt64LittleEndian(Slice(offset, 8, what));

        public ReadOnlySpan<byte> Slice(long offset, long size, string what)
        {
            if (offset < 0 || size < 0)
            {
                throw new ElfFormatException($"{what} has a negative offset or size.");
            }

            return _data.Slice((int)Range((ulong)offset, (ulong)size, what), (int)size);
        }
    }

    /// <summary>The dynamic string table, with bounds-checked NUL-terminated lookups.</summary>
    private readonly ref struct StringTable(Reader reader, long offset, long size)
    {
        private readonly ReadOnlySpan<byte> _table = reader.Slice(offset, size, "DT_STRTAB");

        public string Get(ulong index, string what)
        {
            if (index >= (ulong)_table.Length)
            {
                throw new ElfFormatException($"{what} string offset 0x{index:x} is past the end of the {_table.Length}-byte string table.");
            }

            var rest = _table[(int)index..];
            int nul = rest.IndexOf((byte)0);
            if (nul < 0)
            {
                throw new ElfFormatException($"{what} string at 0x{index:x} is not NUL-terminated within the string table.");
            }

            return Encoding.UTF8.GetString(rest[..nul]);
        }
    }
}
