using FlatImage.Cli.CommandLine;
using FlatImage.Cli.Output;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Recipes;

namespace FlatImage.Cli.Commands;

/// <summary>
/// <c>fim-recipe fetch|info|install &lt;name&gt;[,&lt;name&gt;...]</c>. Every check
/// that can fail (names, distribution, remote, downloads, parsing, the cycle rule) runs before
/// anything is written to the cache or installed; the cache is written only once the whole set
/// resolved, each file replaced in one rename.
/// </summary>
public static class RecipeCommand
{
    /// <summary>Downloads in flight at once: a command names a handful of small files.</summary>
    private const int Parallelism = 4;

    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-recipe' (<fetch|info|install>)");
        if (op is not ("fetch" or "info" or "install"))
            throw new CommandException("Invalid recipe operation");
        string list = args.Next() ?? throw new CommandException("Missing recipe for operation");
        args.End();
        string[] names = list.Split(',');
        if (names.Any(n => n.Length == 0))
            throw new CommandException("Recipe argument is empty");
        try
        {
            foreach (string name in names)
                RecipeName.Check(name);
            return op switch
            {
                "fetch" => Fetch(context, names),
                "info" => Info(context, names),
                _ => Install(context, names),
            };
        }
        catch (RecipeException e)
        {
            throw new CommandException(e.Message, critical: false);
        }
    }

    private static int Fetch(CommandContext context, string[] names)
    {
        var config = context.ReadConfig();
        using var downloader = new RecipeDownloader(RecipeDownloader.DefaultStallTimeout);
        var repository = new RecipeRepository(config.RemoteUrl, config.Distribution, DataDirectory.CreateForRun(context.ImagePath), downloader);
        var loaded = Load(context, names, repository.DownloadAsync);
        foreach (var recipe in loaded)
            Save(context, repository, recipe);
        return 0;
    }

    private static int Info(CommandContext context, string[] names)
    {
        var config = context.ReadConfig();
        var repository = new RecipeRepository(config.RemoteUrl, config.Distribution, DataDirectory.Existing(context.ImagePath), downloader: null);
        var recipes = names.Select(name => repository.ReadCached(name)?.Recipe
            ?? throw new RecipeException($"Recipe '{name}' not found locally. Use 'fim-recipe fetch {name}' first.")).ToList();
        foreach (var recipe in recipes)
        {
            var o = context.Out;
            o.WriteLine($"Recipe: {recipe.Name}");
            o.WriteLine($"Location: {repository.CachePath(recipe.Name)}");
            o.WriteLine($"Description: {Printable.Line(recipe.Description)}");
            o.WriteLine($"Package count: {recipe.Packages.Length}");
            o.WriteLine("Packages:");
            foreach (string package in recipe.Packages)
                o.WriteLine($"  - {package}");
            o.WriteLine($"Dependencies: {recipe.Dependencies.Length}");
            foreach (string dependency in recipe.Dependencies)
                o.WriteLine($"  - {dependency}");
        }
        return 0;
    }

    private static int Install(CommandContext context, string[] names)
    {
        var config = context.ReadConfig();
        PackageManager.Check(config.Distribution);
        using var downloader = new RecipeDownloader(RecipeDownloader.DefaultStallTimeout);
        var repository = new RecipeRepository(config.RemoteUrl, config.Distribution, DataDirectory.CreateForRun(context.ImagePath), downloader);
        var loaded = Load(context, names, (name, cancel) => repository.LoadAsync(name, preferCache: true, cancel));
        foreach (var recipe in loaded)
        {
            if (recipe.DownloadedFrom is null)
                context.Out.WriteLine($"Using existing recipe from '{repository.CachePath(recipe.Recipe.Name)}'");
            else
                Save(context, repository, recipe);
        }

        var packages = loaded.SelectMany(r => r.Recipe.Packages).Distinct(StringComparer.Ordinal).ToList();
        var desktop = loaded.LastOrDefault(r => r.Recipe.Desktop is not null)?.Recipe;
        var manager = PackageManager.For(config.Distribution, packages);
        foreach (var (key, value) in manager.Environment)
            Environment.SetEnvironmentVariable(key, value);
        // The package manager writes to the same stdout: our lines first.
        context.Out.Flush();
        int status = RunCommand.RunAsRoot(context, "fim-recipe", manager.Command);
        if (status == 0 && desktop is not null)
        {
            context.Out.WriteLine($"Found desktop integration in recipe '{desktop.Name}'");
            context.Warn("fim-recipe", $"Desktop integration from recipe '{desktop.Name}' is not applied: this build has no desktop integration");
        }
        return status;
    }

    private static IReadOnlyList<LoadedRecipe> Load(CommandContext context, string[] names, Func<string, CancellationToken, Task<LoadedRecipe>> load)
    {
        var progress = new RecipeProgressLine(context.Error);
        try
        {
            return RecipeGraph.LoadAsync(names, load, Parallelism, progress, CancellationToken.None).GetAwaiter().GetResult();
        }
        finally
        {
            progress.Clear();
        }
    }

    private static void Save(CommandContext context, RecipeRepository repository, LoadedRecipe recipe)
    {
        string name = recipe.Recipe.Name;
        string path = repository.Save(name, recipe.Body);
        context.Out.WriteLine($"Downloading recipe from '{recipe.DownloadedFrom!.AbsoluteUri}'");
        context.Out.WriteLine($"Saving to '{path}'");
        context.Out.WriteLine($"Successfully downloaded recipe '{name}' to '{path}'");
    }
}
