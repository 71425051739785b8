namespace EventDaemon.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("eventd: not yet wired");
        return 1;
    }
}
