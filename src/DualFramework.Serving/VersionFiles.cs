namespace DualFramework.Serving;

/// <summary>Size and write time of a version's files: whether they are still changing, and whether a failed version's files
/// changed since it failed (only then is it tried again).</summary>
internal readonly record struct VersionFiles(long ModelBytes, DateTime ModelWritten, long MetadataBytes, DateTime MetadataWritten)
{
    /// <summary>The files of a version folder; null while it has no readable <c>model.onnx</c>.</summary>
    public static VersionFiles? Read(string directory)
    {
        try
        {
            var model = new FileInfo(Path.Combine(directory, ModelRepository.ModelFileName));
            if (!model.Exists) return null;
            var metadata = new FileInfo(Path.Combine(directory, ModelRepository.MetadataFileName));
            return metadata.Exists
                ? new VersionFiles(model.Length, model.LastWriteTimeUtc, metadata.Length, metadata.LastWriteTimeUtc)
                : new VersionFiles(model.Length, model.LastWriteTimeUtc, -1, default);
        }
        catch (IOException)
        {
            return null; // vanished or renamed during the scan: look again next time
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The latest write time of the files.</summary>
    public DateTime LastWrite => ModelWritten > MetadataWritten ? ModelWritten : MetadataWritten;
}
