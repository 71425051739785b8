namespace EventDaemon.LoadGen.Generation;

/// <summary>Wire format of the generated events, as a source's <c>format</c> names it.</summary>
internal enum EventFormat
{
    Json,
    Binary,
}
