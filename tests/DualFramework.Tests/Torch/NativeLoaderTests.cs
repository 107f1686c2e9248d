using System.Buffers.Binary;
using System.Runtime.InteropServices;
using DualFramework.Torch.Native;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Torch;

[TestFixture]
public class ElfHashTests
{
    [TestCase("", 0x0u)]
    [TestCase("a", 0x61u)]
    // (0x61 << 4) + 0x62
    [TestCase("ab", 0x672u)]
    // ... after 'g' h = 0x6789abc7: top nibble 6 is folded (h ^= 0x60, then cleared) -> 0x0789aba7;
    // then (0x0789aba7 << 4) + 'h' = 0x789abad8: fold 7 -> 0x089abaa8.
    [TestCase("abcdefgh", 0x089abaa8u)]
    // Values binutils prints for these names (objdump -p, "Version References").
    [TestCase("GLIBC_2.2.5", 0x09691a75u)]
    [TestCase("GLIBCXX_3.4", 0x08922974u)]
    [TestCase("GLIBCXX_3.4.30", 0x0297f840u)]
    [TestCase("GLIBCXX_3.4.32", 0x0297f842u)]
    public void ElfHash_matches_hand_computed_values(string name, uint expected)
    {
        ElfVersionNeedPatcher.ElfHash(name).Should().Be(expected);
    }

    [TestCase("GLIBCXX_3.4.30", "GLIBCXX_3.4.32", -1)]
    [TestCase("GLIBCXX_3.4", "GLIBCXX_3.4.9", -1)]
    [TestCase("GLIBCXX_3.4.9", "GLIBCXX_3.4.18", -1)]
    [TestCase("GLIBCXX_3.4.32", "GLIBCXX_3.4.32", 0)]
    public void CompareVersions_orders_numerically(string a, string b, int sign)
    {
        Math.Sign(ElfVersionNeedPatcher.CompareVersions(a, b)!.Value).Should().Be(sign);
    }

    [TestCase("CXXABI_1.3", "GLIBCXX_3.4.32")]
    [TestCase("GLIBCXX_3.4.x", "GLIBCXX_3.4.32")]
    [TestCase("noversion", "GLIBCXX_3.4.32")]
    public void CompareVersions_is_null_across_families_or_for_odd_names(string a, string b)
    {
        ElfVersionNeedPatcher.CompareVersions(a, b).Should().BeNull();
    }
}

[TestFixture]
public class ElfVersionNeedPatcherTests
{
    private byte[] _original = null!;

    [OneTimeSetUp]
    public void LoadOriginal()
    {
        string? path = NativeTestFiles.FindLibTorchSharp();
        if (path is null)
        {
            Assert.Ignore("libLibTorchSharp.so (TorchSharp 0.107.0, linux-x64) not found in the test output or the NuGet cache.");
        }

        _original = File.ReadAllBytes(path!);
    }

    [Test]
    public void Read_reports_what_the_dynamic_linker_sees()
    {
        var info = ElfVersionNeedPatcher.Read(_original);

        info.SoName.Should().Be("libLibTorchSharp.so");
        info.Needed.Should().ContainInOrder("libtorch.so", "libc10.so", "libtorch_cpu.so");
        info.RequiresVersion(ElfVersionNeedPatcher.Glibcxx3432).Should().BeTrue();
        var stdcxx = info.VersionNeeds.Single(n => n.FileName == "libstdc++.so.6");
        stdcxx.Versions.Should().OnlyContain(v => v.Hash == ElfVersionNeedPatcher.ElfHash(v.Name), "the linker wrote consistent hashes");
    }

    [Test]
    public void Patch_drops_the_GLIBCXX_3_4_32_requirement_for_one_already_required()
    {
        var before = ElfVersionNeedPatcher.Read(_original).VersionNeeds.Single(n => n.FileName == "libstdc++.so.6");

        var result = ElfVersionNeedPatcher.Patch(_original);

        result.Status.Should().Be(ElfPatchStatus.Patched, result.Message);
        result.Changes.Should().ContainSingle();
        var change = result.Changes[0];
        change.OldName.Should().Be("GLIBCXX_3.4.32");
        change.NewName.Should().Be("GLIBCXX_3.4.30", "the highest older GLIBCXX version the file already requires");

        var after = ElfVersionNeedPatcher.Read(result.Image!);
        after.RequiresVersion("GLIBCXX_3.4.32").Should().BeFalse();
        var stdcxx = after.VersionNeeds.Single(n => n.FileName == "libstdc++.so.6");
        stdcxx.Versions.Should().HaveCount(before.Versions.Count);
        stdcxx.Versions.Select(v => v.Name).Distinct().Should().BeSubsetOf(before.Versions.Select(v => v.Name), "no new requirement appears");

        var entry = stdcxx.Versions.Single(v => v.EntryOffset == change.EntryOffset);
        entry.Name.Should().Be(change.NewName);
        entry.Hash.Should().Be(ElfVersionNeedPatcher.ElfHash(entry.Name));
        entry.Other.Should().Be(before.Versions.Single(v => v.Name == "GLIBCXX_3.4.32").Other, "vna_other (version index) is kept");
        entry.Flags.Should().Be(before.Versions.Single(v => v.Name == "GLIBCXX_3.4.32").Flags);
    }

    [Test]
    public void Patch_changes_only_vna_hash_and_vna_name_and_leaves_the_input_alone()
    {
        byte[] copy = (byte[])_original.Clone();

        var result = ElfVersionNeedPatcher.Patch(copy);

        copy.Should().Equal(_original, "the input must not be modified");
        byte[] patched = result.Image!;
        patched.Length.Should().Be(_original.Length);
        long entry = result.Changes[0].EntryOffset;
        var allowed = Enumerable.Range(0, 4).Concat(Enumerable.Range(8, 4)).Select(i => entry + i).ToHashSet();
        var differing = Enumerable.Range(0, patched.Length).Where(i => patched[i] != _original[i]).Select(i => (long)i).ToList();
        differing.Should().NotBeEmpty().And.OnlyContain(i => allowed.Contains(i));
        BinaryPrimitives.ReadUInt32LittleEndian(patched.AsSpan((int)entry)).Should().Be(ElfVersionNeedPatcher.ElfHash("GLIBCXX_3.4.30"));
    }

    [Test]
    public void Patch_of_a_patched_image_is_not_needed()
    {
        var once = ElfVersionNeedPatcher.Patch(_original);

        var twice = ElfVersionNeedPatcher.Patch(once.Image!);

        twice.Status.Should().Be(ElfPatchStatus.NotNeeded);
        twice.Image.Should().BeNull();
    }

    [Test]
    public void Patch_without_an_older_version_of_the_family_reports_no_replacement()
    {
        var result = ElfVersionNeedPatcher.Patch(_original, "GLIBCXX_3.4");

        result.Status.Should().Be(ElfPatchStatus.NoReplacement);
        result.Image.Should().BeNull();
    }

    [Test]
    public void Empty_input_is_malformed()
    {
        ExpectMalformed([], "shorter than an ELF64 header");
        ElfVersionNeedPatcher.TryRead([], out var info, out string? error).Should().BeFalse();
        info.Should().BeNull();
        error.Should().NotBeNullOrEmpty();
        FluentActions.Invoking(() => ElfVersionNeedPatcher.Read([])).Should().Throw<ElfFormatException>();
    }

    [Test]
    public void Truncated_input_never_crashes()
    {
        // Everything the dynamic linker reads lies before the end of the last PT_LOAD's file data;
        // the tail (symbol table, section headers) is not needed, so only shorter cuts must fail.
        long needed = NativeTestFiles.EndOfLoadedFileData(_original);
        var lengths = new List<int> { 1, 4, 5, 16, 63, 64, 65, 100, 0x200, 0x1000, 0x3f8f0, 0x3f900, (int)needed - 1 };
        var random = new Random(1234);
        for (int i = 0; i < 60; i++)
        {
            lengths.Add(random.Next(0, _original.Length));
        }

        foreach (int length in lengths)
        {
            var result = ElfVersionNeedPatcher.Patch(_original.AsSpan(0, length));
            if (length < needed)
            {
                result.Status.Should().Be(ElfPatchStatus.Malformed, $"truncated to {length} bytes");
                result.Message.Should().NotBeNullOrWhiteSpace();
            }
            else
            {
                result.Status.Should().Be(ElfPatchStatus.Patched, $"truncated to {length} bytes only cuts unused data");
            }
        }
    }

    [Test]
    public void Wrong_magic_is_malformed()
    {
        byte[] bad = (byte[])_original.Clone();
        bad[1] = (byte)'X';
        ExpectMalformed(bad, "magic");
    }

    [Test]
    public void Elf32_is_malformed()
    {
        byte[] bad = (byte[])_original.Clone();
        bad[4] = 1; // ELFCLASS32
        ExpectMalformed(bad, "32-bit");
    }

    [Test]
    public void Big_endian_is_malformed()
    {
        byte[] bad = (byte[])_original.Clone();
        bad[5] = 2; // ELFDATA2MSB
        ExpectMalformed(bad, "Big-endian");
    }

    [Test]
    public void Program_header_table_past_the_end_is_malformed()
    {
        byte[] bad = (byte[])_original.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(32), (ulong)bad.Length - 8); // e_phoff
        ExpectMalformed(bad, "program header table");

        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(32), ulong.MaxValue - 3); // overflowing e_phoff
        ExpectMalformed(bad, "program header table");
    }

    [Test]
    public void Too_many_program_headers_is_malformed()
    {
        byte[] bad = (byte[])_original.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(bad.AsSpan(56), 0xffff); // e_phnum
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(32), (ulong)bad.Length / 2);
        ExpectMalformed(bad, "program header table");
    }

    [Test]
    public void Dynamic_segment_past_the_end_is_malformed()
    {
        byte[] bad = (byte[])_original.Clone();
        long ph = NativeTestFiles.ProgramHeaderOffset(bad, type: 2);
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan((int)ph + 8), (ulong)bad.Length + 16); // p_offset
        ExpectMalformed(bad, "PT_DYNAMIC");
    }

    [Test]
    public void Load_segment_past_the_end_is_malformed()
    {
        byte[] bad = (byte[])_original.Clone();
        long ph = NativeTestFiles.ProgramHeaderOffset(bad, type: 1);
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan((int)ph + 32), ulong.MaxValue); // p_filesz
        ExpectMalformed(bad, "PT_LOAD");
    }

    [Test]
    public void Section_header_offset_past_the_end_does_not_matter()
    {
        // ld.so never reads section headers, so neither does the patcher: the result is the same.
        byte[] odd = (byte[])_original.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(odd.AsSpan(40), ulong.MaxValue); // e_shoff
        BinaryPrimitives.WriteUInt16LittleEndian(odd.AsSpan(60), 0xffff);         // e_shnum

        var result = ElfVersionNeedPatcher.Patch(odd);

        result.Status.Should().Be(ElfPatchStatus.Patched);
        result.Changes.Should().BeEquivalentTo(ElfVersionNeedPatcher.Patch(_original).Changes);
    }

    [Test]
    public void Version_need_fields_out_of_range_are_malformed()
    {
        var entry = ElfVersionNeedPatcher.Patch(_original).Changes[0].EntryOffset;

        byte[] badName = (byte[])_original.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(badName.AsSpan((int)entry + 8), uint.MaxValue); // vna_name
        ExpectMalformed(badName, "vna_name");

        byte[] badNext = (byte[])_original.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(badNext.AsSpan((int)entry + 12), uint.MaxValue); // vna_next
        ExpectMalformed(badNext, "Vernaux");

        byte[] badCount = (byte[])_original.Clone();
        long dyn = NativeTestFiles.DynamicEntryOffset(badCount, tag: 0x6fffffff); // DT_VERNEEDNUM
        BinaryPrimitives.WriteUInt64LittleEndian(badCount.AsSpan((int)dyn + 8), ulong.MaxValue);
        ExpectMalformed(badCount, "DT_VERNEEDNUM");

        byte[] badAddress = (byte[])_original.Clone();
        dyn = NativeTestFiles.DynamicEntryOffset(badAddress, tag: 0x6ffffffe); // DT_VERNEED
        BinaryPrimitives.WriteUInt64LittleEndian(badAddress.AsSpan((int)dyn + 8), 0xdead_beef_0000);
        ExpectMalformed(badAddress, "DT_VERNEED");
    }

    [Test]
    public void Random_corruption_of_the_headers_and_tables_never_crashes()
    {
        // Corrupt bytes where the parser looks (ELF header, program headers, dynamic section,
        // version-need table) and check that only results come back, never exceptions.
        long dynamic = NativeTestFiles.ProgramHeaderOffset(_original, type: 2);
        long dynOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(_original.AsSpan((int)dynamic + 8));
        long entry = ElfVersionNeedPatcher.Patch(_original).Changes[0].EntryOffset;
        var regions = new (long Start, int Length)[] { (0, 64 + (56 * 12)), (dynOffset, 0x270), (entry - 0x150, 0x210) };
        byte[] work = (byte[])_original.Clone();
        var random = new Random(42);
        for (int i = 0; i < 2000; i++)
        {
            var (start, length) = regions[random.Next(regions.Length)];
            int at = (int)(start + random.Next(length));
            byte saved = work[at];
            work[at] = (byte)random.Next(256);

            var act = () => ElfVersionNeedPatcher.Patch(work);

            act.Should().NotThrow($"byte 0x{at:x} set to 0x{work[at]:x2}");
            work[at] = saved;
        }
    }

    private static void ExpectMalformed(byte[] image, string messagePart)
    {
        var result = ElfVersionNeedPatcher.Patch(image);
        result.Status.Should().Be(ElfPatchStatus.Malformed);
        result.Image.Should().BeNull();
        result.Message.Should().Contain(messagePart);
        FluentActions.Invoking(() => ElfVersionNeedPatcher.Read(image)).Should().Throw<ElfFormatException>();
    }
}

[TestFixture]
public class TorchNativeLoaderTests
{
    [Test]
    public void EnsureLoaded_makes_TorchSharp_usable()
    {
        // Concurrent first calls must be safe.
        Parallel.For(0, 8, _ => TorchNativeLoader.EnsureLoaded());
        TorchNativeLoader.EnsureLoaded();

        if (OperatingSystem.IsLinux())
        {
            TorchNativeLoader.Mode.Should().BeOneOf(TorchNativeLoadMode.Original, TorchNativeLoadMode.Patched);
        }

        if (TorchNativeLoader.Mode == TorchNativeLoadMode.Patched)
        {
            TorchNativeLoader.OriginalLoadError.Should().Contain("GLIBCXX_3.4.32");
            TestContext.Out.WriteLine($"Patched: {TorchNativeLoader.PatchDescription}; loaded from {TorchNativeLoader.PatchedPath}");
        }
        else
        {
            TorchNativeLoader.PatchedPath.Should().BeNull("nothing is patched where the original loads");
        }

        float sum = TorchSharp.torch.ones(2, 2).sum().item<float>();

        sum.Should().Be(4f);
    }

    [Test]
    public void After_EnsureLoaded_the_runtime_lookup_TorchSharp_uses_succeeds()
    {
        TorchNativeLoader.EnsureLoaded();

        NativeLibrary.TryLoad("LibTorchSharp", typeof(TorchSharp.torch).Assembly, null, out nint handle).Should().BeTrue();
        handle.Should().NotBe(0);
    }

    [TestCase("LibTorchSharp", true)]
    [TestCase("libLibTorchSharp.so", true)]
    [TestCase("torch_cpu", false)]
    [TestCase("libc", false)]
    public void Resolver_claims_only_LibTorchSharp(string name, bool expected)
    {
        TorchNativeLoader.IsLibTorchSharp(name).Should().Be(expected);
    }
}

/// <summary>Helpers to find the real library and to locate structures in it for corruption tests.</summary>
internal static class NativeTestFiles
{
    public static string? FindLibTorchSharp()
    {
        var candidates = new List<string>
        {
            Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
            Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"),
        };
        string? packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(packages))
        {
            packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }

        candidates.Add(Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
        return candidates.FirstOrDefault(File.Exists);
    }

    public static long ProgramHeaderOffset(byte[] elf, uint type)
    {
        long phoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(32));
        int size = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(54));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(56));
        for (int i = 0; i < count; i++)
        {
            long ph = phoff + ((long)i * size);
            if (BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)ph)) == type)
            {
                return ph;
            }
        }

        throw new InvalidOperationException($"No program header of type {type}.");
    }

    public static long DynamicEntryOffset(byte[] elf, long tag)
    {
        long ph = ProgramHeaderOffset(elf, type: 2);
        long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)ph + 8));
        long size = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)ph + 32));
        for (long p = offset; p < offset + size; p += 16)
        {
            if ((long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)p)) == tag)
            {
                return p;
            }
        }

        throw new InvalidOperationException($"No dynamic entry with tag 0x{tag:x}.");
    }

    /// <summary>End of the file data of the furthest-reaching PT_LOAD (or PT_DYNAMIC) segment.</summary>
    public static long EndOfLoadedFileData(byte[] elf)
    {
        long phoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(32));
        int size = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(54));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(56));
        long end = phoff + ((long)size * count);
        for (int i = 0; i < count; i++)
        {
            long ph = phoff + ((long)i * size);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)ph));
            if (type is 1 or 2)
            {
                long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)ph + 8));
                long filesz = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)ph + 32));
                end = Math.Max(end, offset + filesz);
            }
        }

        return end;
    }
}
