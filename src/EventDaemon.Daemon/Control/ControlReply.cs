namespace EventDaemon.Daemon.Control;

/// <summary>
/// The outcome of a command that changes state. When <paramref name="Ok"/> is false the server
/// sends <paramref name="Text"/> as it is if it already starts with <c>error:</c>, else with
/// <c>error: </c> put in front, so the first line of every failure starts with <c>error:</c>.
/// </summary>
/// <param name="Ok">Whether the command did what was asked.</param>
/// <param name="Text">What the operator reads; may span several lines (one per config error).</param>
public readonly record struct ControlReply(bool Ok, string Text);
