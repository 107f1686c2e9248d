namespace DualFramework.Serving;

/// <summary>A request the server refuses, with the HTTP status code to answer and a message naming the problem.</summary>
public sealed class ServingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ServingException(int statusCode, string message) : base(message) => StatusCode = statusCode;

    /// <summary>The HTTP status code (4xx for a bad request, 5xx for a server-side failure).</summary>
    public int StatusCode { get; }

    internal static ServingException BadRequest(string message) => new(400, message);

    internal static ServingException NotFound(string message) => new(404, message);

    internal static ServingException BodyTooLarge(long limit) =>
        new(413, $"the request body is larger than the limit of {limit} bytes (--max-body-bytes)");
}
